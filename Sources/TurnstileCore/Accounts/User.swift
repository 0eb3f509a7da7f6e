import Foundation

/// A registered account.
public struct User: Equatable, Sendable {
    public let id: Int64
    public let email: String
    public let username: String
    public let createdAt: Date

    public init(id: Int64, email: String, username: String, createdAt: Date) {
        self.id = id
        self.email = email
        self.username = username
        self.createdAt = createdAt
    }
}

/// An account as the store keeps it for logging in: the user and their password hash.
public struct StoredCredentials: Equatable, Sendable {
    public let user: User
    public let passwordHash: String

    public init(user: User, passwordHash: String) {
        self.user = user
        self.passwordHash = passwordHash
    }
}
