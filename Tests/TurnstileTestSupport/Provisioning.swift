import Foundation
import NIOHTTP1
import TurnstileLoad

/// A provisioned test user: their id and their own access token.
public struct TestUser: Sendable {
    public let id: Int64
    public let token: String
}

extension LiveServer {
    /// Registers and logs in `count` distinct users through the engine's own provisioning; each gets their own token.
    public func provisionUsers(_ count: Int) async throws -> [TestUser] {
        let target = try LoadTarget(parsing: "http://127.0.0.1:\(port)")
        return try await SuiteContext(target: target).provision(count).map { TestUser(id: $0.id, token: $0.token) }
    }

    /// Registers and logs in one user.
    public func provisionUser(_ name: String) async throws -> TestUser {
        let credentials = ["email": "\(name)@turnstile.test", "password": "password-\(name)"]
        let registered = try await send(
            .json(.POST, "/api/v1/auth/register", credentials.merging(["username": name]) { $1 }))
        guard registered.status == 201, let id = registered.json["id"] as? Int else {
            throw ProvisioningError(step: "register \(name)", response: registered)
        }
        let login = try await send(.json(.POST, "/api/v1/auth/login", credentials))
        guard login.status == 200, let token = login.json["access_token"] as? String else {
            throw ProvisioningError(step: "log in \(name)", response: login)
        }
        return TestUser(id: Int64(id), token: token)
    }

    /// Creates an event with `seats` seats as `organizer`; returns its id.
    public func createEvent(seats: Int, organizer: TestUser) async throws -> Int {
        let response = try await send(
            .json(
                .POST, "/api/v1/events/", ["title": "Race", "date": "2027-01-01T20:00:00Z", "seat_count": seats],
                token: organizer.token))
        guard response.status == 201, let id = response.json["id"] as? Int else {
            throw ProvisioningError(step: "create event", response: response)
        }
        return id
    }
}

public struct ProvisioningError: Error, CustomStringConvertible {
    public let step: String
    public let response: HTTPTestResponse
    public var description: String { "\(step) failed: \(response.status) \(response.text)" }
}
