import Foundation
import NIOCore
import TurnstileReport
import TurnstileWire

/// Faults: a steady mixed load (bookings and reads) while a ``FaultProxy`` on the target's database link runs its
/// schedule, e.g. an outage, then +200 ms of latency, then resets. For each fault it reports the error rate and p99
/// latency before, during and after, and how long writes took to succeed again; afterwards the books must add up.
///
/// While the database is down or slow the service should answer fast 503s; it must never answer another 5xx, leave
/// a request hanging, lose an acknowledged booking, or book seats nobody was told about (beyond the writes whose
/// answers were 503s or cut off, whose outcome the client cannot know).
public struct FaultsSuite: Sendable {
    /// The classic schedule: an outage, then +200 ms on every chunk each way, then resets, 4 s apart.
    public static let classicSchedule: [ScheduledFault] = [
        ScheduledFault(link: "db", .outage, at: .seconds(3), for: .seconds(3)),
        ScheduledFault(
            link: "db", .latency(delay: .milliseconds(200), jitter: .zero), at: .seconds(10), for: .seconds(3)),
        ScheduledFault(link: "db", .reset, at: .seconds(17), for: .seconds(1)),
    ]

    /// How long before and after each fault is measured as "before" and "after".
    public static let settle = TimeAmount.seconds(2)
    /// Writes must succeed again within this long of a fault's end.
    public static let recoveryMax = TimeAmount.seconds(10)
    /// A request unanswered for this long counts as hung.
    public static let hangAfter = TimeAmount.seconds(5)

    public let context: SuiteContext
    public let proxy: FaultProxy

    public init(_ context: SuiteContext, proxy: FaultProxy) {
        self.context = context
        self.proxy = proxy
    }

    /// One request's fate.
    struct Sample: Sendable {
        let sentAt: TimeAmount
        let latency: TimeAmount
        let isWrite: Bool
        /// The status, or nil when no answer came (reset, hang).
        let status: Int?
        let hung: Bool
    }

    public func run(users: [VirtualUser], into report: inout RunReport) async throws {
        let schedule = proxy.schedule
        let end = (schedule.map(\.end).max() ?? .zero) + Self.settle
        context.progress?.note(
            "faults: \(users.count) users for \(ScheduledFault.format(end)); "
                + schedule.map(\.description).joined(separator: ", "))
        let organizer = users[0]
        let setup = context.session()
        let event = try await setup.call(
            TurnstileAPI.createEvent(
                title: "Faults", seats: 100_000, seatsPerUserMax: 100_000, token: organizer.token), expecting: 201,
            as: TurnstileAPI.Event.self)

        let timeouts = HTTPClientConnection.Timeouts(
            connect: Self.hangAfter, read: Self.hangAfter, response: Self.hangAfter)
        let loopContext = SuiteContext(target: context.target, group: context.group, timeouts: timeouts)
        let (proxy, eventID) = (self.proxy, event.id)
        let perUser = await withTaskGroup(of: ([Sample], [Int64]).self) { group in
            for user in users {
                group.addTask {
                    await Self.loop(user, eventID: eventID, until: end, proxy: proxy, context: loopContext)
                }
            }
            var all: [([Sample], [Int64])] = []
            for await result in group { all.append(result) }
            return all
        }
        let samples = perUser.flatMap(\.0)
        let acknowledged = perUser.flatMap(\.1)
        let phase = Self.phase(samples, users: users.count, length: end, proxy: proxy)
        report.phases.append(phase)
        context.progress?.finished(phase)

        for fault in schedule {
            let windows = [
                ("before", fault.start - Self.settle, fault.start), ("during", fault.start, fault.end),
                ("after", fault.end, fault.end + Self.settle),
            ]
            let parts = windows.map { name, from, to in
                Self.summary(name, samples.filter { $0.sentAt >= from && $0.sentAt < to })
            }
            let recovery = samples.filter { $0.isWrite && $0.status == 201 && $0.sentAt >= fault.end }
                .map { $0.sentAt + $0.latency - fault.end }.min()
            report.notes.append(
                "\(fault): " + parts.joined(separator: "; ") + "; writes recovered "
                    + (recovery.map { "after \(Self.seconds($0))" } ?? "never"))
            report.invariants.append(
                InvariantResult(
                    phase: "faults",
                    rule: "after \(fault), writes succeed again within \(Self.seconds(Self.recoveryMax))",
                    expected: "≤ \(Self.seconds(Self.recoveryMax))", actual: recovery.map(Self.seconds) ?? "never",
                    passed: recovery.map { $0 <= Self.recoveryMax } ?? false))
        }

        let otherServerErrors = samples.filter { ($0.status ?? 0) >= 500 && $0.status != 503 }.count
        let hung = samples.filter(\.hung).count
        let unknownOutcome = samples.filter { $0.isWrite && ($0.status == nil || $0.status == 503) }.count
        report.invariants += [
            .equal(otherServerErrors, 0, phase: "faults", rule: "no 5xx but 503 (fast, with Retry-After)"),
            .equal(hung, 0, phase: "faults", rule: "no request hangs for \(Self.seconds(Self.hangAfter))"),
        ]
        report.invariants += try await checkBooks(
            eventID: eventID, users: users, acknowledged: acknowledged, unknownOutcome: unknownOutcome)
        report.notes.append(
            "faults: \(samples.count) requests, \(acknowledged.count) bookings acknowledged, \(unknownOutcome) writes "
                + "answered 503 or cut off (outcome unknown to the client)")
    }

    /// One user: a booking, then a read of the event, over and over until `end`, 20 ms apart.
    private static func loop(
        _ user: VirtualUser, eventID: Int64, until end: TimeAmount, proxy: FaultProxy, context: SuiteContext
    ) async -> ([Sample], [Int64]) {
        let session = context.session()
        var samples: [Sample] = []
        var acknowledged: [Int64] = []
        var isWrite = true
        while proxy.elapsed < end {
            let request =
                isWrite ? TurnstileAPI.book(eventID: eventID, seats: 1, token: user.token) : TurnstileAPI.event(eventID)
            let sentAt = proxy.elapsed
            let started = NIODeadline.now()
            do {
                let response = try await session.call(request)
                samples.append(
                    Sample(
                        sentAt: sentAt, latency: .now() - started, isWrite: isWrite, status: response.status,
                        hung: false))
                if isWrite, response.status == 201,
                    let booking = try? WireJSON.decoder.decode(
                        TurnstileAPI.Created.self, from: Data(response.body.readableBytesView))
                {
                    acknowledged.append(booking.id)
                }
            } catch {
                let hung = (error as? LoadError)?.kind == .timeout
                samples.append(
                    Sample(sentAt: sentAt, latency: .now() - started, isWrite: isWrite, status: nil, hung: hung))
            }
            isWrite.toggle()
            try? await Task.sleep(for: .milliseconds(20))
        }
        return (samples, acknowledged)
    }

    /// Reads the books back once the faults are over: every acknowledged booking is there, no more appeared than
    /// the writes whose outcome the client could not know, and the seats add up.
    private func checkBooks(
        eventID: Int64, users: [VirtualUser], acknowledged: [Int64], unknownOutcome: Int
    ) async throws -> [InvariantResult] {
        let session = context.session()
        var present: Set<Int64> = []
        for user in users {
            let mine = try await session.call(
                TurnstileAPI.myBookings(token: user.token), expecting: 200, as: TurnstileAPI.Bookings.self)
            present.formUnion(mine.bookings.filter { $0.eventID == eventID && $0.status != "cancelled" }.map(\.id))
        }
        let event = try await session.call(TurnstileAPI.event(eventID), expecting: 200, as: TurnstileAPI.Event.self)
        let lost = Set(acknowledged).subtracting(present).count
        return [
            .equal(lost, 0, phase: "faults", rule: "every acknowledged (201) booking is in the store"),
            InvariantResult(
                phase: "faults", rule: "bookings in the store ≤ 201s + writes of unknown outcome (no phantom)",
                expected: "≤ \(acknowledged.count + unknownOutcome)", actual: String(present.count),
                passed: present.count <= acknowledged.count + unknownOutcome),
            .equal(
                event.availableSeats, event.seatCount - present.count, phase: "faults",
                rule: "seats left = seats − bookings in the store"),
        ]
    }

    /// The load as a phase: a booking and a read per user, counted by the second its answer came, and the faults as
    /// its windows, so the report charts them on the phase's seconds.
    static func phase(_ samples: [Sample], users: Int, length: TimeAmount, proxy: FaultProxy) -> PhaseReport {
        var endpoints = ["book": EndpointStats(name: "book"), "event": EndpointStats(name: "event")]
        var seconds: [PhaseReport.Second] = []
        for sample in samples {
            let name = sample.isWrite ? "book" : "event"
            let index = Int(max(0, (sample.sentAt + sample.latency).nanoseconds / 1_000_000_000))
            while seconds.count <= index { seconds.append(PhaseReport.Second(second: seconds.count)) }
            if let status = sample.status {
                let microseconds = UInt64(max(0, sample.latency.nanoseconds / 1_000))
                endpoints[name]!.record(status: status, microseconds: microseconds)
                seconds[index].endpoints[name, default: .init()].record(
                    status: String(status), microseconds: microseconds, expected: status < 400)
            } else {
                let kind: EndpointStats.ErrorKind = sample.hung ? .timeout : .reset
                endpoints[name]!.record(error: kind)
                seconds[index].endpoints[name, default: .init()].record(error: kind)
            }
        }
        for index in seconds.indices { seconds[index].addUpEndpoints() }
        let inSeconds = { (time: TimeAmount) in Double(time.nanoseconds) / 1e9 }
        var phase = PhaseReport(
            name: "faults", executor: "faults", startedAt: Date(timeIntervalSinceNow: -inSeconds(proxy.elapsed)),
            durationSeconds: inSeconds(length), users: users, endpoints: Array(endpoints.values), timeline: seconds)
        phase.windows = proxy.schedule.map {
            PhaseReport.Window(name: $0.description, from: inSeconds($0.start), to: inSeconds($0.end))
        }
        return phase
    }

    /// "n=120, 0.0 % errors, p99 4 ms".
    static func summary(_ name: String, _ samples: [Sample]) -> String {
        guard !samples.isEmpty else { return "\(name): no requests" }
        let errors = samples.filter { ($0.status ?? 599) >= 400 }.count
        let latencies = samples.map(\.latency.nanoseconds).sorted()
        let p99 = latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))]
        let rate = Double(errors) * 100 / Double(samples.count)
        return "\(name) n=\(samples.count) errors \(String(format: "%.1f", rate))% p99 \(p99 / 1_000_000)ms"
    }

    static func seconds(_ time: TimeAmount) -> String {
        String(format: "%.2fs", Double(time.nanoseconds) / 1e9)
    }
}
