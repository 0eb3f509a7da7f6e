import Foundation
import TurnstileCore

/// Decoding of the domain's values from rows, for the columns the store's queries select.
extension SQLRow {
    public func int64(_ column: String) -> Int64 {
        guard case .integer(let value) = self.value(column) else {
            preconditionFailure("column \(column) missing or not an integer; the query and the decoder disagree")
        }
        return value
    }

    public func int(_ column: String) -> Int { Int(int64(column)) }

    public func string(_ column: String) -> String {
        guard case .text(let value) = self.value(column) else {
            preconditionFailure("column \(column) missing or not text; the query and the decoder disagree")
        }
        return value
    }

    public func optionalString(_ column: String) -> String? {
        self.value(column) == .null ? nil : string(column)
    }

    func date(_ column: String) -> Date { Date(millisecondsSince1970: int64(column)) }

    func user() -> User {
        User(id: int64("id"), email: string("email"), username: string("username"), createdAt: date("created_at_ms"))
    }

    func event() -> Event {
        Event(
            id: int64("id"), title: string("title"), description: optionalString("description"),
            date: date("date_ms"), location: optionalString("location"), seatCount: int("seat_count"),
            availableSeats: int("available_seats"), organizerID: int64("organizer_id"),
            createdAt: date("created_at_ms"), seatsPerUserMax: int("max_seats_per_user"))
    }

    public func optionalInt64(_ column: String) -> Int64? {
        self.value(column) == .null ? nil : int64(column)
    }

    func optionalDate(_ column: String) -> Date? { optionalInt64(column).map(Date.init(millisecondsSince1970:)) }

    /// A stored word of a known set; the CHECK constraints allow no other.
    func word<Word: RawRepresentable<String>>(_ column: String, as type: Word.Type = Word.self) -> Word {
        guard let word = Word(rawValue: string(column)) else {
            preconditionFailure("unknown \(column); the CHECK constraint allows only known ones")
        }
        return word
    }

    func booking() -> Booking {
        Booking(
            id: int64("id"), userID: int64("user_id"), eventID: int64("event_id"), seatCount: int("seat_count"),
            status: word("status"), expiresAt: optionalDate("expires_at_ms"), createdAt: date("created_at_ms"))
    }

    func product() -> Product {
        Product(
            id: int64("id"), sku: string("sku"), name: string("name"), priceCents: int("price_cents"),
            stockTotal: int("stock_total"), stock: int("stock"), createdAt: date("created_at_ms"))
    }

    func order() -> Order {
        Order(
            id: int64("id"), userID: int64("user_id"), productID: int64("product_id"), quantity: int("quantity"),
            totalCents: int("total_cents"), status: word("status"), createdAt: date("created_at_ms"))
    }

    func ledgerEntry() -> LedgerEntry {
        LedgerEntry(
            id: int64("id"), userID: int64("user_id"), kind: word("kind"), amount: int("amount"),
            balanceAfter: int("balance_after"), reason: optionalString("reason"), createdAt: date("created_at_ms"))
    }

    func item() -> Item {
        Item(
            id: int64("id"), sellerID: int64("seller_id"), title: string("title"),
            startingPriceCents: int("starting_price_cents"), minIncrementCents: int("min_increment_cents"),
            endsAt: optionalDate("ends_at_ms"), currentBidCents: optionalInt64("current_bid_cents").map(Int.init),
            highestBidderID: optionalInt64("highest_bidder_id"), bidCount: int("bid_count"),
            createdAt: date("created_at_ms"))
    }

    func bid() -> Bid {
        Bid(
            itemID: int64("item_id"), seq: int("seq"), bidderID: int64("bidder_id"), amountCents: int("amount_cents"),
            createdAt: date("created_at_ms"))
    }

    func waitlistEntry() -> WaitlistEntry {
        WaitlistEntry(
            id: int64("id"), eventID: int64("event_id"), userID: int64("user_id"), seatCount: int("seat_count"),
            status: word("status"), position: int("position"), offeredBookingID: optionalInt64("offered_booking_id"),
            createdAt: date("created_at_ms"))
    }
}

/// Columns selected for each domain value (and written for it, in this order), so that statements and decoders stay
/// in step.
enum Columns {
    static let user = ["id", "email", "username", "created_at_ms"]
    static let event = [
        "id", "title", "description", "date_ms", "location", "seat_count", "available_seats", "organizer_id",
        "created_at_ms", "max_seats_per_user",
    ]
    static let booking = ["id", "user_id", "event_id", "seat_count", "status", "expires_at_ms", "created_at_ms"]
    static let product = ["id", "sku", "name", "price_cents", "stock_total", "stock", "created_at_ms"]
    static let order = ["id", "user_id", "product_id", "quantity", "total_cents", "status", "created_at_ms"]
    static let ledgerEntry = ["id", "user_id", "kind", "amount", "balance_after", "reason", "created_at_ms"]
    static let item = [
        "id", "seller_id", "title", "starting_price_cents", "min_increment_cents", "ends_at_ms", "current_bid_cents",
        "highest_bidder_id", "bid_count", "created_at_ms",
    ]
    static let bid = ["item_id", "seq", "bidder_id", "amount_cents", "created_at_ms"]
    static let waitlistEntry = [
        "id", "event_id", "user_id", "seat_count", "status", "position", "offered_booking_id", "created_at_ms",
    ]
}
