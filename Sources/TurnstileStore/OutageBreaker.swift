import Synchronization
import TurnstileCore

/// Makes a store that is out of reach cost its callers a 503 at once instead of a wait for the store's bound each.
///
/// Every call that reached for the store reports how it went: ``reached()`` when the store answered (whatever it
/// answered), ``unreachable()`` when it did not (a timeout, a lost or refused connection). After `failuresToOpen`
/// unreachable calls in a row (none reached the store between them), calls are refused at once for `cooldown`
/// (``admit()`` throws `store_unavailable`, with nothing tried and nothing written); then one call at a time is let
/// through to probe the store, and the first call that reaches it lets every call through again. A probe that never
/// reports frees its turn after `probeMax`. One failure among successes (a pooled connection found dead as the
/// database comes back) does not open it: that would refuse every caller for a second for one caller's bad luck.
///
/// ```swift
/// try breaker.admit()
/// do {
///     let rows = try await query()
///     breaker.reached()
///     return rows
/// } catch {
///     if isTheDatabasesOwnAnswer(error) { breaker.reached() } else { breaker.unreachable() }
///     throw error
/// }
/// ```
public final class OutageBreaker: Sendable {
    private let machine: Mutex<OutageBreakerStateMachine<ContinuousClock.Instant>>
    private let clock = ContinuousClock()

    public init(
        failuresToOpen: Int = Limits.storeOutageFailuresToOpen,
        cooldown: Duration = .milliseconds(Limits.storeOutageCooldownMilliseconds),
        probeMax: Duration = .milliseconds(Limits.writeAnswerTimeoutMilliseconds)
    ) {
        machine = Mutex(
            OutageBreakerStateMachine(failuresToOpen: failuresToOpen, cooldown: cooldown, probeMax: probeMax))
    }

    /// Returns if the call may go to the store; throws `store_unavailable` if the store was out of reach moments ago.
    public func admit() throws(TurnstileError) {
        let now = clock.now
        guard machine.withLock({ $0.admit(at: now) }) else { throw Self.refusal }
    }

    /// The store answered a call. Returns whether this ended an outage.
    @discardableResult
    public func reached() -> Bool {
        machine.withLock { $0.reached() }
    }

    /// A call could not reach the store. Returns whether this began an outage.
    @discardableResult
    public func unreachable() -> Bool {
        let now = clock.now
        return machine.withLock { $0.unreachable(at: now) }
    }

    /// Whether calls are refused (or probing) now.
    public var isOpen: Bool { machine.withLock { $0.isOpen } }

    /// The answer to a call refused without being tried.
    public static let refusal = TurnstileError.storeUnavailable(
        detail: "it could not be reached moments ago, so this request was not tried and nothing was written; "
            + "retry shortly.")
}

/// Every decision of an ``OutageBreaker``, without locks or clocks, so each rule is tested by feeding it instants.
struct OutageBreakerStateMachine<Instant: InstantProtocol> where Instant.Duration == Duration {
    enum State: Equatable {
        /// Every call goes to the store; the last `failures` calls reported could not reach it.
        case closed(failures: Int)
        /// The store was out of reach: calls are refused until then.
        case open(until: Instant)
        /// One call probes the store; the others are refused until it reports, or until then.
        case probing(until: Instant)
    }

    let failuresToOpen: Int
    let cooldown: Duration
    let probeMax: Duration
    private(set) var state = State.closed(failures: 0)

    init(failuresToOpen: Int, cooldown: Duration, probeMax: Duration) {
        precondition(
            failuresToOpen > 0 && cooldown > .zero && probeMax > .zero,
            "the breaker's counts and times must be positive")
        self.failuresToOpen = failuresToOpen
        self.cooldown = cooldown
        self.probeMax = probeMax
    }

    var isOpen: Bool {
        if case .closed = state { false } else { true }
    }

    /// Whether a call arriving `now` goes to the store.
    mutating func admit(at now: Instant) -> Bool {
        switch state {
        case .closed:
            return true
        case .open(let until), .probing(let until):
            guard now >= until else { return false }
            state = .probing(until: now.advanced(by: probeMax))
            return true
        }
    }

    /// A call reached the store; returns whether the breaker was open.
    mutating func reached() -> Bool {
        defer { state = .closed(failures: 0) }
        return isOpen
    }

    /// A call could not reach the store; returns whether this opened the breaker.
    @discardableResult
    mutating func unreachable(at now: Instant) -> Bool {
        if case .closed(let failures) = state, failures + 1 < failuresToOpen {
            state = .closed(failures: failures + 1)
            return false
        }
        defer { state = .open(until: now.advanced(by: cooldown)) }
        return !isOpen
    }
}
