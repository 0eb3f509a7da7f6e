/// How much of one resource exists and how much is left.
///
/// The invariant `0 <= remaining <= capacity` holds for every value of this type: it is checked on creation and
/// every mutation keeps it.
public struct ResourceBalance: Equatable, Sendable {
    /// The total amount the resource holds: what it was created with, plus any top-ups.
    public private(set) var capacity: Int
    /// The amount not yet granted.
    public private(set) var remaining: Int

    /// Creates a balance; `remaining` must lie within `0...capacity`.
    public init(capacity: Int, remaining: Int) {
        precondition(capacity >= 0, "capacity must not be negative")
        precondition((0...capacity).contains(remaining), "remaining \(remaining) outside 0...\(capacity)")
        self.capacity = capacity
        self.remaining = remaining
    }

    /// The amount granted so far.
    public var granted: Int { capacity - remaining }

    /// Takes `amount` if it fits what is left; returns whether it did.
    public mutating func take(_ amount: Int) -> Bool {
        precondition(amount > 0, "amount must be positive")
        guard amount <= remaining else { return false }
        remaining -= amount
        return true
    }

    /// Gives back `amount` that an earlier grant took.
    ///
    /// Returning more than was ever granted is a programmer error (a booking cancelled twice, say), so it traps.
    public mutating func giveBack(_ amount: Int) {
        precondition(amount > 0, "amount must be positive")
        precondition(remaining + amount <= capacity, "giving back \(amount) would exceed capacity \(capacity)")
        remaining += amount
    }

    /// Adds `amount` new units (a credit top-up, say): both the capacity and what is left grow.
    public mutating func grow(by amount: Int) {
        precondition(amount > 0, "amount must be positive")
        capacity += amount
        remaining += amount
    }
}
