import Foundation
import NIOCore
import NIOHTTP1
import TurnstileReport
import TurnstileWire

/// Realistic mixed traffic from provisioned users: browsing the event list, reading event details, booking seats of
/// a hot event and creating events, in proportions that add up to 100. After the phase the target is read back: the
/// hot event's seats taken must equal the bookings granted, and the events created must all exist.
public struct MixedSuite: Sendable {
    /// Percentages of each kind of request.
    public struct Mix: Sendable, Equatable {
        public var browse: Int
        public var detail: Int
        public var book: Int
        public var create: Int

        public init(browse: Int, detail: Int, book: Int, create: Int) {
            precondition(browse + detail + book + create == 100, "a mix adds up to 100 %")
            self.browse = browse
            self.detail = detail
            self.book = book
            self.create = create
        }

        /// The endpoint names its statistics use, for thresholds: those with a share.
        public var endpoints: [String] {
            [("browse", browse), ("detail", detail), ("book", book), ("create", create)].filter { $0.1 > 0 }.map(\.0)
        }

        /// 60 % browse, 25 % detail, 12 % book, 3 % create.
        public static let classic = Mix(browse: 60, detail: 25, book: 12, create: 3)
        /// Reads only: 50 % browse, 50 % detail.
        public static let readHeavy = Mix(browse: 50, detail: 50, book: 0, create: 0)
    }

    /// Events created before the phase, for browsing and details.
    public static let catalogueSize = 20
    /// The hot event's seats: the most an event may have, so that a phase rarely sells out.
    public static let hotEventSeats = 100_000

    public let mix: Mix
    public let context: SuiteContext

    public init(mix: Mix, context: SuiteContext) {
        self.mix = mix
        self.context = context
    }

    /// How the phase's load is shaped.
    public enum Shape: Sendable {
        /// Every user loops for the duration, waiting `thinkTime` after each answer.
        case closed(duration: TimeAmount, thinkTime: TimeAmount = .zero)
        /// Arrivals at a fixed rate (or ramping linearly to `rateEnd`) for the duration, on up to as many connections
        /// as users.
        case open(rate: Double, rateEnd: Double? = nil, duration: TimeAmount)
        /// Closed-loop stages of growing (or shrinking) user counts, one phase each.
        case ramp(RampExecutor)
    }

    /// Runs this mix as the phase `name` for `users`, closed-loop, or at `rate` requests per second when given.
    public func run(
        _ name: String, users: [VirtualUser], duration: TimeAmount, rate: Double? = nil,
        into report: inout RunReport
    ) async throws {
        let shape: Shape = rate.map { .open(rate: $0, duration: duration) } ?? .closed(duration: duration)
        try await run(name, users: users, shape: shape, into: &report)
    }

    /// Runs this mix as `name` in the given shape, then checks the books over all the phases it made.
    public func run(_ name: String, users: [VirtualUser], shape: Shape, into report: inout RunReport) async throws {
        let session = context.session()
        let organizer = users[0]
        var eventIDs: [Int64] = []
        for index in 0..<Self.catalogueSize {
            let event = try await session.call(
                TurnstileAPI.createEvent(title: "Catalogue \(index)", seats: 1_000, token: organizer.token),
                expecting: 201, as: TurnstileAPI.Event.self)
            eventIDs.append(event.id)
        }
        let hot = try await session.call(
            TurnstileAPI.createEvent(
                title: "Hot event", seats: Self.hotEventSeats, seatsPerUserMax: Self.hotEventSeats,
                token: organizer.token),
            expecting: 201, as: TurnstileAPI.Event.self)
        let totalBefore = try await session.call(
            TurnstileAPI.events(page: 1, pageSize: 1), expecting: 200, as: EventPage.self
        ).total

        let scenario = Self.scenario(mix: mix, users: users, eventIDs: eventIDs, hotEventID: hot.id)
        let phases: [PhaseReport]
        switch shape {
        case .closed(let duration, let thinkTime):
            phases = [
                try await ClosedExecutor(
                    users: users.count, duration: duration, thinkTime: thinkTime, timeouts: context.timeouts
                )
                .run(name, scenario: scenario, target: context.target, group: context.group, progress: context.progress)
            ]
        case .open(let rate, let rateEnd, let duration):
            phases = [
                try await OpenExecutor(
                    rate: rate, rateEnd: rateEnd, duration: duration, connectionsMax: users.count,
                    timeouts: context.timeouts
                )
                .run(name, scenario: scenario, target: context.target, group: context.group, progress: context.progress)
            ]
        case .ramp(let ramp):
            precondition(users.count >= ramp.usersMax, "provision as many users as the largest stage")
            phases = try await ramp.run(
                name, scenario: scenario, target: context.target, group: context.group, progress: context.progress)
        }
        report.phases += phases

        // 201s seen, and requests without an answer (the target may or may not have carried those out).
        func seen(_ endpoint: String) -> ClosedRange<UInt64> {
            let stats = phases.compactMap { $0.endpoints.first { $0.name == endpoint } }
            let granted = stats.reduce(0) { $0 + $1.count(status: 201) }
            return granted...(granted + stats.reduce(0) { $0 + $1.errors })
        }
        let booked = seen("book")
        let created = seen("create")
        let hotAfter = try await session.call(TurnstileAPI.event(hot.id), expecting: 200, as: TurnstileAPI.Event.self)
        let totalAfter = try await session.call(
            TurnstileAPI.events(page: 1, pageSize: 1), expecting: 200, as: EventPage.self
        ).total
        let taken = UInt64(hot.seatCount - hotAfter.availableSeats)
        let added = UInt64(totalAfter - totalBefore)
        report.invariants += [
            InvariantResult(
                phase: name, rule: "hot event: seats taken = bookings granted (+ unanswered at most)",
                expected: Self.describe(booked), actual: String(taken), passed: booked.contains(taken)),
            InvariantResult(
                phase: name, rule: "events created = 201s for create (+ unanswered at most)",
                expected: Self.describe(created), actual: String(added), passed: created.contains(added)),
        ]
    }

    private static func describe(_ range: ClosedRange<UInt64>) -> String {
        range.count == 1 ? String(range.lowerBound) : "\(range.lowerBound)…\(range.upperBound)"
    }

    struct EventPage: Decodable {
        let total: Int
    }

    /// The requests, prepared once per user; each turn picks one by a hash of (user, turn), with no shared state.
    static func scenario(mix: Mix, users: [VirtualUser], eventIDs: [Int64], hotEventID: Int64) -> Scenario {
        let pages = max(1, (eventIDs.count + 9) / 10)
        let browse = (1...pages).map { TurnstileAPI.events(page: $0, pageSize: 10) }
        let details = eventIDs.map { TurnstileAPI.event($0) }
        let books = users.map { TurnstileAPI.book(eventID: hotEventID, seats: 1, token: $0.token) }
        let creates = users.map { TurnstileAPI.createEvent(title: "Mixed", seats: 100, token: $0.token) }
        return { user, turn in
            var hash = UInt64(truncatingIfNeeded: user) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: turn)
            hash = (hash ^ (hash >> 31)) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 29
            let roll = Int(hash % 100)
            let pick = Int((hash >> 8) % 1_000_003)
            switch roll {
            case ..<mix.browse: return browse[pick % browse.count]
            case ..<(mix.browse + mix.detail): return details[pick % details.count]
            case ..<(mix.browse + mix.detail + mix.book): return books[user % books.count]
            default: return creates[user % creates.count]
            }
        }
    }
}
