import Foundation
import NIOCore
import TurnstileCore
import TurnstileWire

/// The JSON a live feed sends: first a `subscribed` message (from then on nothing is missed), then one message per
/// change, numbered with `seq`. Each comes as a complete WebSocket text frame, built once and written as is to every
/// subscriber.
///
/// ```json
/// {"type": "subscribed", "item_id": 3}
/// {"type": "bid", "seq": 7, "item_id": 3, "amount_cents": 1500, "bidder_id": 12, "created_at": "2026-11-22T10:00:00Z"}
/// {"type": "availability", "seq": 2, "event_id": 5, "available_seats": 3, "seat_count": 10}
/// {"type": "waitlist_offer", "seq": 3, "id": 40, "reference": "…", "user_id": 9, "event_id": 5, "seat_count": 2,
///  "status": "held", "expires_at": "…", "created_at": "…", "waitlist_position": 1}
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

    /// The text frame announcing `change` as message number `seq`. A bid and a waitlist offer's hold have exactly
    /// the members the REST API gives them, plus `type`, `seq` (and `waitlist_position`).
    static func encode(_ change: LiveChange, seq: Int) -> ByteBuffer {
        let data: Data
        do {
            data =
                switch change {
                case .bid(let bid):
                    try JSONCoding.encoder.encode(Message(type: "bid", seq: seq, body: BidResponse(bid)))
                case .availability(let eventID, let available, let seatCount):
                    try JSONCoding.encoder.encode(
                        Message(
                            type: "availability", seq: seq,
                            body: Availability(eventID: eventID, availableSeats: available, seatCount: seatCount)))
                case .waitlistOffer(let entry, let hold):
                    try JSONCoding.encoder.encode(
                        Message(
                            type: "waitlist_offer", seq: seq,
                            body: Offer(hold: BookingResponse(hold), waitlistPosition: entry.position)))
                }
        } catch {
            preconditionFailure("live messages hold only integers, strings and dates: \(error)")
        }
        return textFrame(ByteBuffer(bytes: data))
    }

    /// `type` and `seq`, then the members of `body` beside them.
    private struct Message<Body: Encodable>: Encodable {
        let type: String
        let seq: Int
        let body: Body

        enum CodingKeys: String, CodingKey { case type, seq }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encode(seq, forKey: .seq)
            try body.encode(to: encoder)
        }
    }

    private struct Availability: Encodable {
        let eventID: Int64
        let availableSeats: Int
        let seatCount: Int

        enum CodingKeys: String, CodingKey {
            case eventID = "event_id"
            case availableSeats = "available_seats"
            case seatCount = "seat_count"
        }
    }

    /// The hold offered, as `GET /bookings/` shows it, and the waitlist place it was offered for.
    private struct Offer: Encodable {
        let hold: BookingResponse
        let waitlistPosition: Int

        enum CodingKeys: String, CodingKey { case waitlistPosition = "waitlist_position" }

        func encode(to encoder: any Encoder) throws {
            try hold.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(waitlistPosition, forKey: .waitlistPosition)
        }
    }
}
