import Foundation

/// One user's share of one event: the seats they hold, have booked and wait for there.
public struct UserEvent: Hashable, Sendable {
    public let userID: Int64
    public let eventID: Int64

    public init(userID: Int64, eventID: Int64) {
        self.userID = userID
        self.eventID = eventID
    }
}

extension BatchPlan {
    /// What a batch's decisions depend on, for the store to read.
    public struct Needs: Equatable, Sendable {
        /// Balances claimed from, released to or topped up.
        public var resources: Set<ResourceKey> = []
        /// Idempotency keys whose earlier grants must be found.
        public var idempotencyRefs: Set<IdempotencyRef> = []
        /// Bookings to cancel or confirm.
        public var bookingIDs: Set<Int64> = []
        /// Orders to advance.
        public var orderIDs: Set<Int64> = []
        /// Items bid on.
        public var itemIDs: Set<Int64> = []
        /// Accounts the batch acts for, which must exist.
        public var userIDs: Set<Int64> = []
        /// Email addresses and SKUs new rows want, which must be free.
        public var emails: Set<String> = []
        public var skus: Set<String> = []
        /// Events whose waitlist the batch may join or offer seats to.
        public var waitlistEventIDs: Set<Int64> = []
        /// The users and events of the batch's bookings, whose share against the per-person limit must be known.
        public var userEvents: Set<UserEvent> = []
        /// Whether the batch releases every hold that ran out, not only those of the events it touches.
        public var sweepsHolds = false

        /// Adds a claim's balance, and its idempotency key if it has one.
        public mutating func add(_ claim: Claim) {
            resources.insert(claim.resource)
            if let ref = claim.idempotencyRef { idempotencyRefs.insert(ref) }
        }

        /// The needs once the bookings and orders the batch names (and the holds found to have run out) are read:
        /// their balances too, and the waitlists their released seats may go to.
        public func adding(bookings: some Sequence<Booking>, orders: some Sequence<Order>) -> Needs {
            var needs = self
            for booking in bookings {
                needs.resources.insert(booking.resource)
                needs.waitlistEventIDs.insert(booking.eventID)
            }
            for order in orders { needs.resources.insert(order.resource) }
            return needs
        }

        /// The events whose seats the batch claims, where holds that ran out must be found first.
        public var seatEventIDs: Set<Int64> {
            Set(resources.compactMap { if case .seats(let id) = $0 { id } else { nil } })
        }
    }

    /// The id each kind of new row gets next. The writer holds the store's write lock, so nothing else inserts
    /// meanwhile, and every id is known before anything is written.
    public struct NextIDs: Equatable, Sendable {
        public var user: Int64 = 1
        public var event: Int64 = 1
        public var booking: Int64 = 1
        public var product: Int64 = 1
        public var order: Int64 = 1
        public var ledgerEntry: Int64 = 1
        public var item: Int64 = 1
        public var waitlistEntry: Int64 = 1

        public init() {}

        /// Hands out the next id of one kind.
        mutating func take(_ kind: WritableKeyPath<NextIDs, Int64>) -> Int64 {
            defer { self[keyPath: kind] += 1 }
            return self[keyPath: kind]
        }
    }

    /// The row a grant made, remembered under its idempotency key; or the waitlist place a refused booking took.
    public enum GrantRecord: Equatable, Sendable {
        case booking(Booking)
        case order(Order)
        case ledgerEntry(LedgerEntry)
        case waitlistEntry(WaitlistEntry)

        var id: Int64 {
            switch self {
            case .booking(let booking): booking.id
            case .order(let order): order.id
            case .ledgerEntry(let entry): entry.id
            case .waitlistEntry(let entry): entry.id
            }
        }

        var outcome: StoredClaimKey.Outcome {
            if case .waitlistEntry = self { .waitlisted } else { .granted }
        }
    }

    /// What the store read for the batch.
    public struct Inputs: Sendable {
        /// The batch's time: every row it writes carries it, and holds that ran out by it are released.
        public var now: Date
        public var nextIDs: NextIDs
        public var balances: [ResourceKey: ResourceBalance]
        /// Grants stored under the batch's idempotency keys, and the rows they made.
        public var storedGrants: [IdempotencyRef: KeyedGrant]
        public var storedGrantRecords: [IdempotencyRef: GrantRecord]
        /// The bookings named (whoever owns them), and every hold found to have run out.
        public var bookings: [Int64: Booking]
        /// The orders named (whoever owns them).
        public var orders: [Int64: Order]
        /// The products whose stock is claimed.
        public var products: [Int64: Product]
        /// The items bid on.
        public var items: [Int64: Item]
        /// The waiting entries of each event in ``Needs/waitlistEventIDs``, first in line first (empty lists too).
        public var waitlists: [Int64: [WaitlistEntry]]
        /// The accounts of ``Needs/userIDs`` that exist.
        public var knownUserIDs: Set<Int64>
        /// For each of ``Needs/userEvents``: the seats the user holds or has booked (live bookings, holds that ran out
        /// included: the plan releases those first) and waits for (waiting waitlist entries) on the event.
        public var userSeats: [UserEvent: Int] = [:]
        /// The per-person limit of each event whose seats are claimed (``Event/seatsPerUserMax``).
        public var seatsPerUserMax: [Int64: Int] = [:]
        /// The emails and SKUs of ``Needs`` that are taken.
        public var takenEmails: Set<String>
        public var takenSKUs: Set<String>

        public init(
            now: Date, nextIDs: NextIDs = NextIDs(), balances: [ResourceKey: ResourceBalance] = [:],
            storedGrants: [IdempotencyRef: KeyedGrant] = [:], storedGrantRecords: [IdempotencyRef: GrantRecord] = [:],
            bookings: [Int64: Booking] = [:], orders: [Int64: Order] = [:], products: [Int64: Product] = [:],
            items: [Int64: Item] = [:], waitlists: [Int64: [WaitlistEntry]] = [:], knownUserIDs: Set<Int64> = [],
            takenEmails: Set<String> = [], takenSKUs: Set<String> = []
        ) {
            self.now = now
            self.nextIDs = nextIDs
            self.balances = balances
            self.storedGrants = storedGrants
            self.storedGrantRecords = storedGrantRecords
            self.bookings = bookings
            self.orders = orders
            self.products = products
            self.items = items
            self.waitlists = waitlists
            self.knownUserIDs = knownUserIDs
            self.takenEmails = takenEmails
            self.takenSKUs = takenSKUs
        }
    }

    /// An idempotency key to remember with the grant it made.
    public struct StoredClaimKey: Equatable, Sendable {
        /// What the keyed claim made.
        public enum Outcome: String, Sendable {
            /// A grant: ``grantID`` is the booking, order or ledger entry.
            case granted
            /// A refused booking's place on the waitlist: ``grantID`` is the waitlist entry.
            case waitlisted
        }

        public let ref: IdempotencyRef
        public let resource: ResourceKey
        public let amount: Int
        public let grantID: Int64
        public let outcome: Outcome

        public init(ref: IdempotencyRef, resource: ResourceKey, amount: Int, grantID: Int64, outcome: Outcome) {
            self.ref = ref
            self.resource = resource
            self.amount = amount
            self.grantID = grantID
            self.outcome = outcome
        }
    }

    /// The rows a batch writes. New and changed rows of the same kind are written alike (insert, or update on the
    /// id), so a store needs one statement per kind.
    public struct Effects: Sendable {
        public var users: [StoredCredentials] = []
        public var events: [Event] = []
        public var products: [Product] = []
        /// New or changed, by id.
        public var items: [Int64: Item] = [:]
        public var bookings: [Int64: Booking] = [:]
        public var orders: [Int64: Order] = [:]
        public var waitlist: [Int64: WaitlistEntry] = [:]
        /// New rows only: the ledger and the bids are append-only.
        public var ledger: [LedgerEntry] = []
        public var bids: [Bid] = []
        public var claimKeys: [StoredClaimKey] = []
        /// The balances the batch changed: an event's free seats, a product's stock, an account's credits.
        public var balances: [ResourceKey: ResourceBalance] = [:]
        /// What live feeds announce once the batch has committed, in order.
        public var changes: [LiveChange] = []

        /// Whether the batch writes nothing at all.
        public var isEmpty: Bool {
            users.isEmpty && events.isEmpty && products.isEmpty && items.isEmpty && bookings.isEmpty
                && orders.isEmpty && waitlist.isEmpty && ledger.isEmpty && bids.isEmpty && balances.isEmpty
        }
    }
}
