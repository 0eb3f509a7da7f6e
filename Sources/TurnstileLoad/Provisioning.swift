/// A virtual user with an identity of its own on the target: registered, logged in, holding its own token. A
/// shared token would trip per-user rate limits and hide real concurrency.
public struct VirtualUser: Sendable {
    public let index: Int
    public let id: Int64
    public let token: String
}

extension SuiteContext {
    /// `count` users, in index order, registered and logged in as the bundled scenarios' users are (the
    /// provisioning of `scenarios/race.yaml`, run by the scenario engine: set-up, not measurement, patient, as many
    /// at once as the target answers quickly). Shared through `pool` with the scenarios that provision the same way,
    /// so a run registers each account once. Each user's id is read from its token.
    public func provision(_ count: Int, pool: ScenarioUserPool = ScenarioUserPool()) async throws -> [VirtualUser] {
        let race = try BundledScenario.race.load()
        let users = try await ScenarioRunner(race, context: self, pool: pool).provisionedUsers(count)
        return try users.enumerated().map { index, values in
            guard case .string(let token)? = values["token"] else {
                throw SetupError("provisioning user \(index) gave no token")
            }
            return VirtualUser(index: index, id: try TurnstileAPI.userID(inToken: token), token: token)
        }
    }
}
