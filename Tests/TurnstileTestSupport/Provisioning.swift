import Foundation
import NIOHTTP1

/// A provisioned test user: their id and their own access token.
public struct TestUser: Sendable {
    public let id: Int64
    public let token: String
}

extension LiveServer {
    /// Registers and logs in `count` distinct users, a few at a time; each gets their own token.
    public func provisionUsers(_ count: Int, prefix: String = "buyer") async throws -> [TestUser] {
        let concurrency = 16
        return try await withThrowingTaskGroup(of: (Int, TestUser).self) { group in
            var users = [TestUser?](repeating: nil, count: count)
            var next = 0
            func addNext() {
                let index = next
                next += 1
                group.addTask { (index, try await provisionUser("\(prefix)\(index)")) }
            }
            while next < min(count, concurrency) { addNext() }
            for try await (index, user) in group {
                users[index] = user
                if next < count { addNext() }
            }
            return users.map { $0! }
        }
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
