/// What a looping virtual user sends: the next request for user `user` on its `iteration`-th turn.
///
/// Called on the event loops, concurrently for different users: it must be cheap and free of shared mutable state
/// (prepare requests up front and pick among them).
public typealias Scenario = @Sendable (_ user: Int, _ iteration: Int) -> LoadRequest
