import Foundation
import TurnstileCore
import TurnstileSQL
import TurnstileStore

@testable import TurnstileSQLite

/// A fresh database file in a temporary directory, removed when the test ends.
func withTemporaryDatabase<Result>(
    _ body: (SQLiteStoreConfiguration) async throws -> Result
) async throws
    -> Result
{
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(
        SQLiteStoreConfiguration(
            path: directory.appendingPathComponent("t.sqlite").path, timeouts: StoreTimeouts(bound: .seconds(30))))
}

let someDate = Date(timeIntervalSince1970: 1_900_000_000)

func seed(_ store: SQLiteStore, seats: Int, users: Int) async throws -> (event: Event, userIDs: [Int64]) {
    var userIDs: [Int64] = []
    for index in 0..<users {
        let registration = try Registration(email: "u\(index)@t.io", username: "user\(index)", password: "password1")
        userIDs.append(try await store.register(registration, passwordHash: "hash").id)
    }
    let event = try await store.createEvent(
        NewEvent(title: "Gig", description: "loud", date: someDate, location: "Hall", seatCount: seats),
        organizerID: userIDs[0])
    return (event, userIDs)
}
