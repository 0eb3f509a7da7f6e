import Foundation
import NIOCore
import TurnstileCore

/// The JSON a live feed sends: first a `subscribed` message (from then on nothing is missed), then one message per
/// change, numbered with `seq`. Each comes as a complete WebSocket text frame, built once and written as is to every
/// subscriber.
///
/// ```json
/// {"type": "subscribed", "item_id": 3}
/// {"type": "bid", "seq": 7, "item_id": 3, "amount_cents": 1500, "bidder_id": 12, "at": "2026-11-22T10:00:00.000Z"}
/// {"type": "availability", "seq": 2, "event_id": 5, "available_seats": 3, "seat_count": 10}
/// {"type": "waitlist_offer", "seq": 3, "event_id": 5, "booking_id": 40, "user_id": 9, "seat_count": 2,
///  "expires_at": "…", "waitlist_position": 1}
/// ```
enum LiveMessage {
    /// The first message on every feed: the subscription is in place, so every later change will be delivered.
    static func subscribed(to topic: LiveTopic) -> ByteBuffer {
        switch topic {
        case .item(let id): textFrame(ByteBuffer(string: #"{"type":"subscribed","item_id":\#(id)}"#))
        case .event(let id): textFrame(ByteBuffer(string: #"{"type":"subscribed","event_id":\#(id)}"#))
        }
    }

    /// A complete, unmasked WebSocket text frame (RFC 6455 §5.2, as a server sends it) holding `payload`.
    static func textFrame(_ payload: ByteBuffer) -> ByteBuffer {
        let length = payload.readableBytes
        var frame = ByteBuffer()
        frame.reserveCapacity(length + 10)
        frame.writeInteger(UInt8(0x81))  // FIN, opcode 1 (text)
        if length < 126 {
            frame.writeInteger(UInt8(length))
        } else if length <= Int(UInt16.max) {
            frame.writeInteger(UInt8(126))
            frame.writeInteger(UInt16(length))
        } else {
            frame.writeInteger(UInt8(127))
            frame.writeInteger(UInt64(length))
        }
        frame.writeImmutableBuffer(payload)
        return frame
    }

    /// The text frame announcing `change` as message number `seq`.
    static func encode(_ change: LiveChange, seq: Int) -> ByteBuffer {
        let data: Data
        do {
            data =
                switch change {
                case .bid(let bid):
                    try JSONCoding.encoder.encode(
                        BidMessage(
                            seq: seq, itemID: bid.itemID, amountCents: bid.amountCents, bidderID: bid.bidderID,
                            at: bid.createdAt))
                case .availability(let eventID, let available, let seatCount):
                    try JSONCoding.encoder.encode(
                        AvailabilityMessage(seq: seq, eventID: eventID, availableSeats: available, seatCount: seatCount)
                    )
                case .waitlistOffer(let entry, let hold):
                    try JSONCoding.encoder.encode(
                        OfferMessage(
                            seq: seq, eventID: entry.eventID, bookingID: hold.id, userID: entry.userID,
                            seatCount: hold.seatCount, expiresAt: hold.expiresAt, waitlistPosition: entry.position))
                }
        } catch {
            preconditionFailure("live messages hold only integers, strings and dates: \(error)")
        }
        return textFrame(ByteBuffer(bytes: data))
    }

    private struct BidMessage: Encodable {
        let type = "bid"
        let seq: Int
        let itemID: Int64
        let amountCents: Int
        let bidderID: Int64
        let at: Date

        enum CodingKeys: String, CodingKey {
            case type, seq, at
            case itemID = "item_id"
            case amountCents = "amount_cents"
            case bidderID = "bidder_id"
        }
    }

    private struct AvailabilityMessage: Encodable {
        let type = "availability"
        let seq: Int
        let eventID: Int64
        let availableSeats: Int
        let seatCount: Int

        enum CodingKeys: String, CodingKey {
            case type, seq
            case eventID = "event_id"
            case availableSeats = "available_seats"
            case seatCount = "seat_count"
        }
    }

    private struct OfferMessage: Encodable {
        let type = "waitlist_offer"
        let seq: Int
        let eventID: Int64
        let bookingID: Int64
        let userID: Int64
        let seatCount: Int
        let expiresAt: Date?
        let waitlistPosition: Int

        enum CodingKeys: String, CodingKey {
            case type, seq
            case eventID = "event_id"
            case bookingID = "booking_id"
            case userID = "user_id"
            case seatCount = "seat_count"
            case expiresAt = "expires_at"
            case waitlistPosition = "waitlist_position"
        }
    }
}
