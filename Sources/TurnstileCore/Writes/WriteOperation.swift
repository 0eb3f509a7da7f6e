/// One kind of write: what its decision depends on, its rule, and what it answers.
///
/// Every store carries every write out the same way: its writer gathers the ``BatchPlan/Needs`` of a batch's writes,
/// reads them, applies each write's rule to the ``BatchPlan`` in arrival order, writes the plan's effects and
/// commits, and only then answers each write with its ``Output``. Adding a write is adding one of these (and, where
/// it reads or writes something new, the SQL for that).
///
/// ```swift
/// let outcome = try await store.write(Book(request))  // a BookingOutcome
/// ```
public protocol WriteOperation: Sendable {
    /// What the write answers once its batch committed.
    associatedtype Output: Sendable

    /// The account the write acts for, if any: it must exist when the batch is carried out, or the write fails
    /// alone with ``TurnstileError/accountGone``.
    var actingUserID: Int64? { get }

    /// Adds what the write's decision depends on to its batch's needs (its acting account is added for it).
    func need(_ needs: inout BatchPlan.Needs)

    /// Decides the write, the next in its batch's arrival order: a refusal by a rule fails it alone, and the rest of
    /// the batch still commits.
    func apply(to plan: inout BatchPlan) -> Result<Output, TurnstileError>
}

extension WriteOperation {
    public var actingUserID: Int64? { nil }
    public func need(_ needs: inout BatchPlan.Needs) {}
}

/// A write that claims a scarce resource (seats, stock or credits) through the batch's allocator.
///
/// A claim granted under an idempotency key is remembered with the row it made, and a later claim under the same key
/// (in the same batch or any later one) is answered from that row.
public protocol ClaimOperation: WriteOperation {
    var claim: Claim { get }

    /// The answer to a repeat of an earlier grant under the claim's idempotency key, from the row the grant made as
    /// the batch has it now; nil when that row is of another kind, so the key was used for another request.
    func replay(of grant: BatchPlan.GrantRecord, on plan: BatchPlan) -> Output?
}

extension ClaimOperation {
    public var actingUserID: Int64? { claim.userID }

    public func need(_ needs: inout BatchPlan.Needs) {
        needs.add(claim)
    }
}

extension BatchPlan {
    /// Decides one write, the next in arrival order, and answers it.
    public mutating func apply<Write: WriteOperation>(_ write: Write) -> Result<Write.Output, TurnstileError> {
        // A write for an account that is gone fails alone; let through, its foreign key would fail the batch.
        if let userID = write.actingUserID, !inputs.knownUserIDs.contains(userID) {
            return .failure(.accountGone)
        }
        return write.apply(to: &self)
    }

    /// What `batch` needs read before it can be decided (before the bookings and orders it names are read).
    public static func needs(of batch: some Sequence<any WriteOperation>) -> Needs {
        var needs = Needs()
        for write in batch {
            if let userID = write.actingUserID { needs.userIDs.insert(userID) }
            write.need(&needs)
        }
        return needs
    }
}

extension TurnstileError {
    /// For a write on behalf of an account that does not exist (any more): its token outlived it.
    public static let accountGone = TurnstileError.unauthorized(
        detail: "The access token's account no longer exists; register or log in again.")
}
