import Testing
import TurnstileTestSupport

@testable import TurnstileLoad

/// Set-up is patient, not blind: a sign-up is sent again only when its answer said nothing, and is then known by the
/// 409 that follows.
@Suite("Provisioning", .timeLimit(.minutes(1)))
struct ProvisioningTests {
    @Test("sign-ups whose answers were lost are sent again; the 409 that follows counts as made, ids from the token")
    func lostSignUpAnswers() async throws {
        try await LossyAccounts.with(lostAnswers: 3) { target in
            let context = SuiteContext(target: try LoadTarget(parsing: "http://127.0.0.1:\(target.port)"))
            let users = try await context.provision(6, pool: ScenarioUserPool(runID: "lossy"))
            let made = await target.accountIDs()
            #expect(made.count == 6, "one account each, none twice")
            #expect(users.map(\.index) == Array(0..<6))
            #expect(users.map(\.id).sorted() == made.values.sorted())
            for user in users {
                #expect(made["tslossyu\(user.index)@turnstile.load"] == user.id)
            }
        }
    }

    @Test("a token that does not name its user is a set-up error, not a guess")
    func tokenWithoutUser() {
        #expect(throws: SetupError.self) { try TurnstileAPI.userID(inToken: "opaque-token") }
        #expect(throws: SetupError.self) { try TurnstileAPI.userID(inToken: "e30.e30.") }
        #expect((try? TurnstileAPI.userID(inToken: "e30.eyJzdWIiOiI0MiJ9.sig")) == 42)
    }
}
