import Testing
import TurnstileCore

@testable import TurnstileStore

/// The breaker's rules, fed instants: after a call finds the store out of reach, calls are refused for the cooldown,
/// then let through one at a time until one reaches it.
@Suite("Outage breaker")
struct OutageBreakerTests {
    typealias Machine = OutageBreakerStateMachine<ManualClock.Instant>

    private static func at(_ milliseconds: Int) -> ManualClock.Instant {
        ManualClock.Instant(offset: .milliseconds(milliseconds))
    }

    /// Which of calls arriving at these instants (in milliseconds) go to the store.
    private static func admitted(_ machine: inout Machine, at instants: Int...) -> [Bool] {
        instants.map { machine.admit(at: at($0)) }
    }

    @Test("closed, every call goes; calls that reach the store keep it so")
    func closedLetsEverythingThrough() {
        var machine = Machine(failuresToOpen: 1, cooldown: .seconds(1), probeMax: .seconds(2))
        #expect(Self.admitted(&machine, at: 0, 0) == [true, true])
        let wasOpen = machine.reached()
        #expect(!wasOpen && machine.state == .closed(failures: 0))
    }

    @Test(
        "it opens after so many unreachable calls in a row; one that reaches the store between starts the count again")
    func failuresInARow() {
        var machine = Machine(failuresToOpen: 3, cooldown: .seconds(1), probeMax: .seconds(2))
        let first = [machine.unreachable(at: Self.at(0)), machine.unreachable(at: Self.at(1))]
        #expect(first == [false, false] && machine.state == .closed(failures: 2))
        _ = machine.reached()  // a dead pooled connection among live ones: no outage
        let second = [machine.unreachable(at: Self.at(2)), machine.unreachable(at: Self.at(3))]
        #expect(second == [false, false] && Self.admitted(&machine, at: 3) == [true])
        let third = machine.unreachable(at: Self.at(4))
        #expect(third, "three in a row: an outage")
        #expect(Self.admitted(&machine, at: 4, 1_003, 1_004) == [false, false, true])
    }

    @Test("one unreachable call refuses every call for the cooldown, then lets exactly one probe through")
    func cooldownThenOneProbe() {
        var machine = Machine(failuresToOpen: 1, cooldown: .seconds(1), probeMax: .seconds(2))
        let began = machine.unreachable(at: Self.at(100))
        #expect(began)
        #expect(Self.admitted(&machine, at: 100, 1_099) == [false, false])
        // The cooldown is over: one probe, and no other call while it is out.
        #expect(Self.admitted(&machine, at: 1_100, 1_100, 3_099) == [true, false, false])
        let ended = machine.reached()
        #expect(ended, "the probe reached the store: the outage ends")
        #expect(Self.admitted(&machine, at: 3_099, 3_099) == [true, true])
    }

    @Test("a probe that fails starts another cooldown; one that never reports frees its turn after probeMax")
    func failedAndLostProbes() {
        var machine = Machine(failuresToOpen: 1, cooldown: .seconds(1), probeMax: .seconds(2))
        machine.unreachable(at: Self.at(0))
        #expect(Self.admitted(&machine, at: 1_000) == [true])
        let began = machine.unreachable(at: Self.at(1_500))
        #expect(!began, "still the same outage")
        #expect(Self.admitted(&machine, at: 2_499, 2_500) == [false, true], "the next probe, a cooldown later")
        #expect(Self.admitted(&machine, at: 4_499, 4_500) == [false, true], "that probe never reported")
        #expect(machine.state == .probing(until: Self.at(6_500)))
    }

    @Test("any call that reaches the store ends the outage, even one let in before it began")
    func lateSuccessCloses() {
        var machine = Machine(failuresToOpen: 1, cooldown: .seconds(1), probeMax: .seconds(2))
        #expect(Self.admitted(&machine, at: 0) == [true])
        machine.unreachable(at: Self.at(10))
        let ended = machine.reached()
        #expect(ended && machine.state == .closed(failures: 0))
        #expect(Self.admitted(&machine, at: 20) == [true])
    }

    @Test("a refused call says that nothing was tried or written, as a 503")
    func refusal() throws {
        let breaker = OutageBreaker(failuresToOpen: 1, cooldown: .seconds(60), probeMax: .seconds(60))
        #expect(throws: Never.self) { try breaker.admit() }
        #expect(breaker.unreachable() && breaker.isOpen)
        #expect(throws: OutageBreaker.refusal) { try breaker.admit() }
        #expect(OutageBreaker.refusal.code == "store_unavailable")
        #expect(breaker.reached() && !breaker.isOpen)
    }
}
