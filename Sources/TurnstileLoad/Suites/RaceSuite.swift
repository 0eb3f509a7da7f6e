import Foundation
import NIOCore
import TurnstileReport

/// The classic race: `users` buyers each ask for `seatsPerUser` seats of a `capacity`-seat event at the same
/// instant (barrier executor), then the target's state is read back and judged.
///
/// Exact expectations: successes = min(users, capacity ÷ seats); every other answer a 409; seats left = capacity −
/// granted, never negative; and the target holds exactly as many bookings as the clients saw 201s (no phantom, no
/// lost writes).
public struct RaceSuite: Sendable {
    public struct Race: Sendable, Equatable {
        public var users: Int
        public var capacity: Int
        public var seatsPerUser: Int

        public init(users: Int, capacity: Int, seatsPerUser: Int = 1) {
            self.users = users
            self.capacity = capacity
            self.seatsPerUser = seatsPerUser
        }

        /// `race 100→10` or `race 300×10→10`.
        public var name: String {
            "race \(users)\(seatsPerUser == 1 ? "" : "×\(seatsPerUser)")→\(capacity)"
        }

        /// How many must succeed: never more than fit, never fewer.
        public var expectedSuccesses: Int { min(users, capacity / seatsPerUser) }
    }

    /// The classic grid: 100 buyers for 10 seats, 300 for 299, and 300 wanting 10 seats each of 10.
    /// The endpoint names its statistics use, for thresholds.
    public static let endpoints = ["book"]

    public static let grid = [
        Race(users: 100, capacity: 10), Race(users: 300, capacity: 299),
        Race(users: 300, capacity: 10, seatsPerUser: 10),
    ]

    public let context: SuiteContext

    public init(_ context: SuiteContext) {
        self.context = context
    }

    /// Runs each race in turn on users provisioned once (as many as the largest race needs), adding its phase and
    /// invariants to `report`.
    public func run(_ races: [Race], into report: inout RunReport, users provisioned: [VirtualUser]? = nil) async throws
    {
        let needed = races.map(\.users).max() ?? 0
        let users: [VirtualUser]
        if let provisioned, provisioned.count >= needed {
            users = provisioned
        } else {
            context.progress?.note("provisioning \(needed) users…")
            users = try await context.provision(needed)
        }
        let session = context.session()
        for race in races {
            context.progress?.note(
                "\(race.name): \(race.users) buyers, \(race.capacity) seats, \(race.seatsPerUser) each")
            let buyers = Array(users.prefix(race.users))
            let event = try await session.call(
                TurnstileAPI.createEvent(title: race.name, seats: race.capacity, token: buyers[0].token),
                expecting: 201, as: TurnstileAPI.Event.self)
            let (phase, responses) = try await BarrierExecutor(timeouts: context.timeouts).run(
                race.name,
                requests: buyers.map {
                    TurnstileAPI.book(eventID: event.id, seats: race.seatsPerUser, token: $0.token)
                },
                target: context.target, group: context.group)
            report.phases.append(phase)
            // What the clients saw is judged first, so an oversell is reported even if reading back fails.
            let seen = Seen(responses)
            try seen.requireCarriedOut(race.name)
            report.invariants += clientChecks(race, seen: seen)
            report.invariants += try await storeChecks(
                race, event: event.id, buyers: buyers, seen: seen, session: session)
        }
    }

    /// The rules the clients' answers alone can judge. With every request answered they are exact; unanswered
    /// requests (reported as errors) leave only the bounds that hold whatever became of them.
    func clientChecks(_ race: Race, seen: Seen) -> [InvariantResult] {
        let phase = race.name
        var checks = [
            InvariantResult(
                phase: phase, rule: "successes ≤ min(users, capacity ÷ seats) (no oversell)",
                expected: "≤ \(race.expectedSuccesses)", actual: String(seen.successes),
                passed: seen.successes <= race.expectedSuccesses),
            .equal(seen.otherStatuses, 0, phase: phase, rule: "every answer is a 201 or a 409"),
        ]
        if seen.unanswered == 0 {
            checks += [
                .equal(
                    seen.successes, race.expectedSuccesses, phase: phase,
                    rule: "successes = min(users, capacity ÷ seats) (no undersell)"),
                .equal(
                    seen.refusals, race.users - race.expectedSuccesses, phase: phase,
                    rule: "every other buyer gets a 409"),
            ]
        }
        return checks
    }

    /// Reads the target back and checks its books against what the clients saw.
    private func storeChecks(
        _ race: Race, event eventID: Int64, buyers: [VirtualUser], seen: Seen, session: APISession
    ) async throws -> [InvariantResult] {
        let event = try await session.call(TurnstileAPI.event(eventID), expecting: 200, as: TurnstileAPI.Event.self)
        var storedBookings = 0
        var storedSeats = 0
        for buyer in buyers {
            let mine = try await session.call(
                TurnstileAPI.myBookings(token: buyer.token), expecting: 200, as: TurnstileAPI.Bookings.self)
            for booking in mine.bookings where booking.eventID == eventID && booking.status != "cancelled" {
                storedBookings += 1
                storedSeats += booking.seatCount
            }
        }
        let phase = race.name
        let storedRange = seen.successes...(seen.successes + seen.unanswered)
        return [
            InvariantResult(
                phase: phase, rule: "stored bookings = 201s (+ unanswered at most): none lost, no phantom",
                expected: storedRange.count == 1 ? String(seen.successes) : "\(storedRange)",
                actual: String(storedBookings), passed: storedRange.contains(storedBookings)),
            .equal(
                event.availableSeats, race.capacity - storedSeats, phase: phase,
                rule: "seats left = capacity − seats stored"),
            InvariantResult(
                phase: phase, rule: "seats stored ≤ capacity, seats left ≥ 0", expected: "≤ \(race.capacity), ≥ 0",
                actual: "\(storedSeats), \(event.availableSeats)",
                passed: storedSeats <= race.capacity && event.availableSeats >= 0),
        ]
    }
}
