import Foundation

// The wire shapes of the API (DESIGN §3), shared by the service and the engine: snake_case keys, RFC 3339 UTC
// dates, integer ids. Responses carry every member, null where a value is absent; request bodies ignore unknown
// members.

/// `POST /api/v1/auth/register`.
public struct RegisterBody: Codable, Sendable, Equatable {
    public let email: String
    public let username: String
    public let password: String

    public init(email: String, username: String, password: String) {
        self.email = email
        self.username = username
        self.password = password
    }
}

/// `POST /api/v1/auth/login`.
public struct LoginBody: Codable, Sendable, Equatable {
    public let email: String
    public let password: String

    public init(email: String, password: String) {
        self.email = email
        self.password = password
    }
}

/// An account.
public struct UserResponse: Codable, Sendable, Equatable {
    public let id: Int64
    public let email: String
    public let username: String
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, email, username
        case createdAt = "created_at"
    }

    public init(id: Int64, email: String, username: String, createdAt: Date) {
        self.id = id
        self.email = email
        self.username = username
        self.createdAt = createdAt
    }
}

/// An access token.
public struct TokenResponse: Codable, Sendable, Equatable {
    public let accessToken: String
    public let tokenType: String
    public let expiresIn: Int

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
    }

    public init(accessToken: String, expiresIn: Int) {
        self.accessToken = accessToken
        tokenType = "bearer"
        self.expiresIn = expiresIn
    }
}
