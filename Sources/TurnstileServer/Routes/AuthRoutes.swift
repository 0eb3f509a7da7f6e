import Hummingbird
import TurnstileCore
import TurnstileStore
import TurnstileWire

/// `POST /auth/register` and `POST /auth/login`. Each account's wrong passwords slow its logins down (see
/// ``FailedLogins``).
struct AuthRoutes<Store: TurnstileStore> {
    let store: Store
    let hasher: PasswordHasher
    let tokens: TokenAuthority
    let failedLogins = FailedLogins()

    func register(on routes: EndpointRoutes) {
        routes.on(.register) { request, context in
            var request = request
            let body = try await request.decodeJSON(RegisterBody.self, context: context)
            let registration = try Registration(email: body.email, username: body.username, password: body.password)
            let hash = try await hasher.hash(registration.password)
            let user = try await store.register(registration, passwordHash: hash)
            return EditedResponse(status: .created, response: UserResponse(user))
        }
        routes.on(.login) { request, context in
            var request = request
            let body = try await request.decodeJSON(LoginBody.self, context: context)
            let email = Registration.normalizedEmail(body.email)
            if let wait = failedLogins.wait(for: email) { throw TurnstileError.rateLimited(retryAfterSeconds: wait) }
            guard let stored = try await store.credentials(email: email) else {
                try await hasher.verifyNothing(body.password)
                failedLogins.failed(email)
                throw TurnstileError.invalidCredentials
            }
            guard try await hasher.verify(body.password, against: stored.passwordHash) else {
                failedLogins.failed(email)
                throw TurnstileError.invalidCredentials
            }
            failedLogins.succeeded(email)
            let (token, expiresIn) = tokens.issue(userID: stored.user.id)
            return TokenResponse(accessToken: token, expiresIn: expiresIn)
        }
    }
}
