import Foundation
import Hummingbird

/// Turnstile's two account endpoints, imitated, with the first `lostAnswers` sign-ups stored but answered 503, as
/// when a proxy loses the answer: a client that sends such a sign-up again is answered 409 `email_taken`.
///
/// - `POST /api/v1/auth/register {"email", "username", "password"}` → 201 `{"id", "email", "username",
///   "created_at"}`, 409 when the email is taken, or 503 for a lost answer.
/// - `POST /api/v1/auth/login {"email", "password"}` → 200 `{"access_token", "token_type", "expires_in"}`, the token
///   a JWT whose `sub` is the user's id; 401 for a wrong password.
public struct LossyAccounts: Sendable {
    public let port: Int
    private let accounts: Accounts

    /// How many accounts were made, by email.
    public func accountIDs() async -> [String: Int64] { await accounts.ids }

    public static func with<Result: Sendable>(
        lostAnswers: Int, _ body: @Sendable (LossyAccounts) async throws -> Result
    ) async throws -> Result {
        let accounts = Accounts(lostAnswers: lostAnswers)
        let router = Router()
        router.post("api/v1/auth/register") { request, context in
            let body = try await request.decode(as: [String: String].self, context: context)
            let (email, username) = (body["email"] ?? "", body["username"] ?? "")
            switch await accounts.signUp(email: email, password: body["password"] ?? "") {
            case .created(let id):
                return try ImitationTarget.json(
                    ["id": id, "email": email, "username": username, "created_at": "2026-11-27T00:00:00Z"],
                    status: .created)
            case .taken:
                return try ImitationTarget.json(["code": "email_taken", "status": 409], status: .conflict)
            case .answerLost:
                return try ImitationTarget.json(["code": "bad_gateway", "status": 503], status: .serviceUnavailable)
            }
        }
        router.post("api/v1/auth/login") { request, context in
            let body = try await request.decode(as: [String: String].self, context: context)
            guard let id = await accounts.logIn(email: body["email"] ?? "", password: body["password"] ?? "") else {
                return try ImitationTarget.json(["code": "unauthorized", "status": 401], status: .unauthorized)
            }
            let claims = Data(#"{"sub":"\#(id)"}"#.utf8).base64EncodedString()
                .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
            return try ImitationTarget.json(
                ["access_token": "eyJhbGciOiJub25lIn0.\(claims).", "token_type": "Bearer", "expires_in": 3_600])
        }
        return try await ImitationTarget.serve(router, label: "lossy-accounts") { port in
            try await body(LossyAccounts(port: port, accounts: accounts))
        }
    }

    private actor Accounts {
        enum SignUp {
            case created(Int64)
            case taken
            case answerLost
        }

        private var lostAnswers: Int
        private var passwords: [String: String] = [:]
        private(set) var ids: [String: Int64] = [:]

        init(lostAnswers: Int) {
            self.lostAnswers = lostAnswers
        }

        func signUp(email: String, password: String) -> SignUp {
            guard ids[email] == nil else { return .taken }
            let id = Int64(ids.count + 1)
            ids[email] = id
            passwords[email] = password
            guard lostAnswers == 0 else {
                lostAnswers -= 1
                return .answerLost
            }
            return .created(id)
        }

        func logIn(email: String, password: String) -> Int64? {
            passwords[email] == password ? ids[email] : nil
        }
    }
}
