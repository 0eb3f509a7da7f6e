import Foundation
import TurnstileCore

/// A table, described once for both databases: its name, its columns (in the order rows are written and selected), its
/// key, the columns a later batch may change, how a domain value becomes a row and how a row read back becomes the
/// value. Its `CREATE TABLE` is in ``SharedSchema``, part of the released migrations.
struct Table<Value>: Sendable {
    let name: String
    let columns: [String]
    var key = "id"
    var updated: [String] = []
    /// The value as a row, in ``columns``' order.
    let row: @Sendable (Value) -> [SQLValue]
    /// The value from a row that selected ``columns``; nil for a table only written by batches.
    var read: (@Sendable (any SQLRow) -> Value)? = nil

    /// The value of `row`, which selected ``columns``.
    func value(of row: any SQLRow) -> Value {
        guard let read else { preconditionFailure("the \(name) table is not read as values") }
        return read(row)
    }
}

/// Every table the stores write and read.
enum Tables {
    static let users = Table<StoredCredentials>(
        name: "users", columns: ["id", "email", "username", "password_hash", "created_at_ms"],
        row: {
            [
                SQLValue($0.user.id), .text($0.user.email), .text($0.user.username), .text($0.passwordHash),
                SQLValue($0.user.createdAt),
            ]
        },
        read: { StoredCredentials(user: user(of: $0), passwordHash: $0.string("password_hash")) })

    /// The users table as every read but a login's sees it: without the password hash, which only a login needs (the
    /// check of every authenticated request reads a user).
    static let userColumns = users.columns.filter { $0 != "password_hash" }

    /// The user of a row that selected ``userColumns`` (or all of ``users``' columns).
    static func user(of row: any SQLRow) -> User {
        User(
            id: row.int64("id"), email: row.string("email"), username: row.string("username"),
            createdAt: row.date("created_at_ms"))
    }

    static let events = Table<Event>(
        name: "events",
        columns: [
            "id", "title", "description", "date_ms", "location", "seat_count", "available_seats", "organizer_id",
            "created_at_ms", "max_seats_per_user",
        ],
        row: {
            [
                SQLValue($0.id), .text($0.title), SQLValue($0.description), SQLValue($0.date),
                SQLValue($0.location), SQLValue($0.seatCount), SQLValue($0.availableSeats),
                SQLValue($0.organizerID), SQLValue($0.createdAt), SQLValue($0.seatsPerUserMax),
            ]
        },
        read: {
            Event(
                id: $0.int64("id"), title: $0.string("title"), description: $0.optionalString("description"),
                date: $0.date("date_ms"), location: $0.optionalString("location"), seatCount: $0.int("seat_count"),
                availableSeats: $0.int("available_seats"), organizerID: $0.int64("organizer_id"),
                createdAt: $0.date("created_at_ms"), seatsPerUserMax: $0.int("max_seats_per_user"))
        })

    static let products = Table<Product>(
        name: "products", columns: ["id", "sku", "name", "price_cents", "stock_total", "stock", "created_at_ms"],
        row: {
            [
                SQLValue($0.id), .text($0.sku), .text($0.name), SQLValue($0.priceCents), SQLValue($0.stockTotal),
                SQLValue($0.stock), SQLValue($0.createdAt),
            ]
        },
        read: {
            Product(
                id: $0.int64("id"), sku: $0.string("sku"), name: $0.string("name"), priceCents: $0.int("price_cents"),
                stockTotal: $0.int("stock_total"), stock: $0.int("stock"), createdAt: $0.date("created_at_ms"))
        })

    static let items = Table<Item>(
        name: "items",
        columns: [
            "id", "seller_id", "title", "starting_price_cents", "min_increment_cents", "ends_at_ms",
            "current_bid_cents", "highest_bidder_id", "bid_count", "created_at_ms",
        ],
        updated: ["current_bid_cents", "highest_bidder_id", "bid_count"],
        row: {
            [
                SQLValue($0.id), SQLValue($0.sellerID), .text($0.title), SQLValue($0.startingPriceCents),
                SQLValue($0.minIncrementCents), SQLValue($0.endsAt), SQLValue($0.currentBidCents),
                SQLValue($0.highestBidderID), SQLValue($0.bidCount), SQLValue($0.createdAt),
            ]
        },
        read: {
            Item(
                id: $0.int64("id"), sellerID: $0.int64("seller_id"), title: $0.string("title"),
                startingPriceCents: $0.int("starting_price_cents"), minIncrementCents: $0.int("min_increment_cents"),
                endsAt: $0.optionalDate("ends_at_ms"),
                currentBidCents: $0.optionalInt64("current_bid_cents").map(Int.init),
                highestBidderID: $0.optionalInt64("highest_bidder_id"), bidCount: $0.int("bid_count"),
                createdAt: $0.date("created_at_ms"))
        })

    static let bookings = Table<Booking>(
        name: "bookings",
        columns: ["id", "user_id", "event_id", "seat_count", "status", "expires_at_ms", "created_at_ms"],
        updated: ["status"],
        row: {
            [
                SQLValue($0.id), SQLValue($0.userID), SQLValue($0.eventID), SQLValue($0.seatCount),
                .text($0.status.rawValue), SQLValue($0.expiresAt), SQLValue($0.createdAt),
            ]
        },
        read: {
            Booking(
                id: $0.int64("id"), userID: $0.int64("user_id"), eventID: $0.int64("event_id"),
                seatCount: $0.int("seat_count"),
                status: $0.word("status"), expiresAt: $0.optionalDate("expires_at_ms"),
                createdAt: $0.date("created_at_ms"))
        })

    static let waitlist = Table<WaitlistEntry>(
        name: "waitlist",
        columns: [
            "id", "event_id", "user_id", "seat_count", "status", "position", "offered_booking_id", "created_at_ms",
        ],
        updated: ["status", "offered_booking_id"],
        row: {
            [
                SQLValue($0.id), SQLValue($0.eventID), SQLValue($0.userID), SQLValue($0.seatCount),
                .text($0.status.rawValue), SQLValue($0.position), SQLValue($0.offeredBookingID),
                SQLValue($0.createdAt),
            ]
        },
        read: {
            WaitlistEntry(
                id: $0.int64("id"), eventID: $0.int64("event_id"), userID: $0.int64("user_id"),
                seatCount: $0.int("seat_count"),
                status: $0.word("status"), position: $0.int("position"),
                offeredBookingID: $0.optionalInt64("offered_booking_id"),
                createdAt: $0.date("created_at_ms"))
        })

    static let orders = Table<Order>(
        name: "orders", columns: ["id", "user_id", "product_id", "quantity", "total_cents", "status", "created_at_ms"],
        updated: ["status"],
        row: {
            [
                SQLValue($0.id), SQLValue($0.userID), SQLValue($0.productID), SQLValue($0.quantity),
                SQLValue($0.totalCents), .text($0.status.rawValue), SQLValue($0.createdAt),
            ]
        },
        read: {
            Order(
                id: $0.int64("id"), userID: $0.int64("user_id"), productID: $0.int64("product_id"),
                quantity: $0.int("quantity"),
                totalCents: $0.int("total_cents"), status: $0.word("status"), createdAt: $0.date("created_at_ms"))
        })

    static let ledger = Table<LedgerEntry>(
        name: "ledger", columns: ["id", "user_id", "kind", "amount", "balance_after", "reason", "created_at_ms"],
        row: {
            [
                SQLValue($0.id), SQLValue($0.userID), .text($0.kind.rawValue), SQLValue($0.amount),
                SQLValue($0.balanceAfter), SQLValue($0.reason), SQLValue($0.createdAt),
            ]
        },
        read: {
            LedgerEntry(
                id: $0.int64("id"), userID: $0.int64("user_id"), kind: $0.word("kind"), amount: $0.int("amount"),
                balanceAfter: $0.int("balance_after"), reason: $0.optionalString("reason"),
                createdAt: $0.date("created_at_ms"))
        })

    static let bids = Table<Bid>(
        name: "bids", columns: ["item_id", "seq", "bidder_id", "amount_cents", "created_at_ms"],
        row: {
            [
                SQLValue($0.itemID), SQLValue($0.seq), SQLValue($0.bidderID), SQLValue($0.amountCents),
                SQLValue($0.createdAt),
            ]
        },
        read: {
            Bid(
                itemID: $0.int64("item_id"), seq: $0.int("seq"), bidderID: $0.int64("bidder_id"),
                amountCents: $0.int("amount_cents"),
                createdAt: $0.date("created_at_ms"))
        })

    static let claimKeys = Table<BatchPlan.StoredClaimKey>(
        name: "claim_keys",
        columns: ["user_id", "key", "resource_kind", "resource_id", "amount", "grant_id", "outcome"]
    ) {
        [
            SQLValue($0.ref.userID), .text($0.ref.key), .text($0.resource.kind.rawValue),
            SQLValue($0.resource.id), SQLValue($0.amount), SQLValue($0.grantID), .text($0.outcome.rawValue),
        ]
    }

    /// Rows of `[user_id, total, balance]`.
    static let creditAccounts = Table<[SQLValue]>(
        name: "credit_accounts", columns: ["user_id", "total", "balance"], key: "user_id",
        updated: ["total", "balance"]
    ) { $0 }
}
