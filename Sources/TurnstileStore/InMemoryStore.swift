import Foundation
import ServiceLifecycle
import Synchronization
import TurnstileCore

/// A store kept in memory: the test double for unit tests of the service, and a reference for what adapters must do.
///
/// It decides every write with the same ``BatchPlan`` as the real stores, one write at a time under a lock. It keeps
/// nothing across restarts; never use it to serve.
public final class InMemoryStore: TurnstileStore {
    fileprivate struct State {
        var users: [Int64: StoredCredentials] = [:]
        var events: [Int64: Event] = [:]
        var bookings: [Int64: Booking] = [:]
        var products: [Int64: Product] = [:]
        var orders: [Int64: Order] = [:]
        var ledger: [LedgerEntry] = []
        var credits: [Int64: ResourceBalance] = [:]
        var items: [Int64: Item] = [:]
        var bids: [Bid] = []
        var waitlist: [Int64: WaitlistEntry] = [:]
        var claimKeys: [IdempotencyRef: BatchPlan.StoredClaimKey] = [:]
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> Date
    public let identity = UUID().uuidString
    public let changes = ChangeFeed()
    /// Every write is a batch of one here.
    public let writeActivity = WriteActivity()
    private let commits = Atomic<UInt64>(0)
    public var commitSequence: UInt64 { commits.load(ordering: .sequentiallyConsistent) }

    /// Creates an empty store whose timestamps come from `clock`.
    public init(clock: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = clock
    }

    /// Nothing to carry out in the background (every write completes under the lock); runs until shutdown, as a
    /// service must, so that a service group does not read its return as a failure.
    public func run() async throws {
        try await gracefulShutdown()
    }

    /// Carries out one write as a batch of one, decided by the same ``BatchPlan`` as the real stores, under the lock.
    public func write<Write: WriteOperation>(_ write: Write) throws(TurnstileError) -> Write.Output {
        let now = clock()
        defer { writeActivity.report(writes: 1, committed: true) }
        return try state.withLock { state throws(TurnstileError) in
            var plan = BatchPlan(state.inputs(for: BatchPlan.needs(of: [write]), now: now))
            let result = plan.apply(write)
            let effects = plan.finish()
            if !effects.isEmpty {
                state.write(effects)
                commits.add(1, ordering: .sequentiallyConsistent)
                changes.publish(effects.changes)
            }
            return try result.get()
        }
    }

    public func credentials(email: String) -> StoredCredentials? {
        state.withLock { $0.users.values.first { $0.user.email == email } }
    }

    public func user(id: Int64) -> User? { state.withLock { $0.users[id]?.user } }

    public func event(id: Int64) -> Event? { state.withLock { $0.events[id] } }

    public func events(_ page: PageRequest) -> Page<Event> {
        state.withLock { Self.page(of: $0.events, page) }
    }

    public func bookings(userID: Int64) -> [Booking] {
        state.withLock {
            Self.newestFirst($0.bookings.values.filter { $0.userID == userID }, max: Limits.bookingsListedMax)
        }
    }

    public func product(id: Int64) -> Product? { state.withLock { $0.products[id] } }

    public func products(_ page: PageRequest) -> Page<Product> {
        state.withLock { Self.page(of: $0.products, page) }
    }

    public func orders(userID: Int64) -> [Order] {
        state.withLock {
            Self.newestFirst($0.orders.values.filter { $0.userID == userID }, max: Limits.ordersListedMax)
        }
    }

    public func stockSummary() -> StockSummary {
        state.withLock { state in
            StockSummary(
                products: state.products.count, unitsInStock: state.products.values.map(\.stock).reduce(0, +),
                ordersByStatus: Dictionary(grouping: state.orders.values, by: \.status).mapValues(\.count))
        }
    }

    public func creditAccount(userID: Int64) -> CreditAccount {
        state.withLock {
            CreditAccount(userID: userID, $0.credits[userID] ?? ResourceBalance(capacity: 0, remaining: 0))
        }
    }

    public func ledger(userID: Int64) -> [LedgerEntry] {
        state.withLock {
            Array($0.ledger.filter { $0.userID == userID }.reversed().prefix(Limits.ledgerEntriesListedMax))
        }
    }

    public func item(id: Int64) -> Item? { state.withLock { $0.items[id] } }

    public func bids(itemID: Int64) -> [Bid] {
        state.withLock { Array($0.bids.filter { $0.itemID == itemID }.suffix(Limits.bidsListedMax)) }
    }

    public func checkReachable() {}

    private static func page<Value: Sendable>(of table: [Int64: Value], _ page: PageRequest) -> Page<Value> {
        let items = table.sorted { $0.key < $1.key }.dropFirst(page.offset).prefix(page.pageSize).map(\.value)
        return Page(items: items, total: table.count, request: page)
    }

    private static func newestFirst<Value: Identified>(_ values: [Value], max: Int) -> [Value] {
        Array(values.sorted { $0.id > $1.id }.prefix(max))
    }
}

private protocol Identified { var id: Int64 { get } }
extension Booking: Identified {}
extension Order: Identified {}

extension InMemoryStore.State {
    /// What a batch needs, read from memory.
    fileprivate func inputs(for needs: BatchPlan.Needs, now: Date) -> BatchPlan.Inputs {
        var named = bookings.filter { needs.bookingIDs.contains($0.key) }
        let seatEvents = needs.seatEventIDs.union(named.values.map(\.eventID))
        for (id, booking) in bookings where booking.holdHasRunOut(at: now) {
            if needs.sweepsHolds || seatEvents.contains(booking.eventID) { named[id] = booking }
        }
        let namedOrders = orders.filter { needs.orderIDs.contains($0.key) }
        let needs = needs.adding(bookings: named.values, orders: namedOrders.values)

        var inputs = BatchPlan.Inputs(now: now)
        inputs.bookings = named
        inputs.orders = namedOrders
        inputs.nextIDs.user = Int64(users.count + 1)
        inputs.nextIDs.event = Int64(events.count + 1)
        inputs.nextIDs.booking = Int64(bookings.count + 1)
        inputs.nextIDs.product = Int64(products.count + 1)
        inputs.nextIDs.order = Int64(orders.count + 1)
        inputs.nextIDs.ledgerEntry = Int64(ledger.count + 1)
        inputs.nextIDs.item = Int64(items.count + 1)
        inputs.nextIDs.waitlistEntry = Int64(waitlist.count + 1)
        inputs.knownUserIDs = needs.userIDs.filter { users[$0] != nil }
        inputs.takenEmails = needs.emails.filter { email in users.values.contains { $0.user.email == email } }
        inputs.takenSKUs = needs.skus.filter { sku in products.values.contains { $0.sku == sku } }
        inputs.items = items.filter { needs.itemIDs.contains($0.key) }
        for eventID in needs.waitlistEventIDs {
            inputs.waitlists[eventID] = waitlist.values.filter { $0.eventID == eventID && $0.status == .waiting }
                .sorted { $0.id < $1.id }
        }
        for share in needs.userEvents {
            let booked = bookings.values.filter {
                $0.userID == share.userID && $0.eventID == share.eventID && $0.status.holdsSeats
            }
            let waiting = waitlist.values.filter {
                $0.userID == share.userID && $0.eventID == share.eventID && $0.status == .waiting
            }
            inputs.userSeats[share] =
                booked.map(\.seatCount).reduce(0, +) + waiting.map(\.seatCount).reduce(0, +)
        }
        for resource in needs.resources {
            switch resource {
            case .seats(let id):
                if let event = events[id] {
                    inputs.balances[resource] = ResourceBalance(
                        capacity: event.seatCount, remaining: event.availableSeats)
                    inputs.seatsPerUserMax[id] = event.seatsPerUserMax
                }
            case .stock(let id):
                if let product = products[id] {
                    inputs.products[id] = product
                    inputs.balances[resource] = ResourceBalance(capacity: product.stockTotal, remaining: product.stock)
                }
            case .credits(let userID):
                if users[userID] != nil {
                    inputs.balances[resource] = credits[userID] ?? ResourceBalance(capacity: 0, remaining: 0)
                }
            }
        }
        for ref in needs.idempotencyRefs {
            guard let key = claimKeys[ref] else { continue }
            inputs.storedGrants[ref] = KeyedGrant(
                resource: key.resource, amount: key.amount, origin: .stored(grantID: key.grantID))
            inputs.storedGrantRecords[ref] =
                switch (key.outcome, key.resource) {
                case (.waitlisted, _): .waitlistEntry(waitlist[key.grantID]!)
                case (.granted, .seats): .booking(bookings[key.grantID]!)
                case (.granted, .stock): .order(orders[key.grantID]!)
                case (.granted, .credits): .ledgerEntry(ledger[Int(key.grantID) - 1])
                }
        }
        return inputs
    }

    /// Writes a batch's effects.
    fileprivate mutating func write(_ effects: BatchPlan.Effects) {
        for credentials in effects.users { users[credentials.user.id] = credentials }
        for event in effects.events { events[event.id] = event }
        for product in effects.products { products[product.id] = product }
        items.merge(effects.items) { $1 }
        bookings.merge(effects.bookings) { $1 }
        orders.merge(effects.orders) { $1 }
        waitlist.merge(effects.waitlist) { $1 }
        ledger += effects.ledger
        bids += effects.bids
        for key in effects.claimKeys { claimKeys[key.ref] = key }
        for (resource, balance) in effects.balances {
            switch resource {
            case .seats(let id): events[id] = events[id]!.withAvailableSeats(balance.remaining)
            case .stock(let id): products[id] = products[id]!.with(stock: balance.remaining)
            case .credits(let userID): credits[userID] = balance
            }
        }
    }
}
