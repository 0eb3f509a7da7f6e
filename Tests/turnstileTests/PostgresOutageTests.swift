import Foundation
import NIOHTTP1
import Testing
import TurnstileLoad
import TurnstileTestSupport

@testable import turnstile

/// `turnstile serve` on a PostgreSQL cluster of the test's own, which the test stops and starts: a real outage.
@Suite(
    "PostgreSQL outage and recovery", .serialized, .timeLimit(.minutes(2)),
    .enabled(
        if: PostgresCluster.available || PostgresTestDatabase.required,
        "PostgreSQL's server programs are not installed: the outage tests are skipped"))
struct PostgresOutageTests {
    @Test(
        "cluster stopped: 503 store_unavailable with Retry-After, at once once found out; /health 200; started: recovers"
    )
    func outageAndRecovery() async throws {
        try await PostgresCluster.with { cluster in
            let service = try await ChildService.launch(
                TurnstileProcess.executable,
                [
                    "serve", "--port", "0", "--database", cluster.url, "--jwt-secret",
                    String(repeating: "s", count: 32),
                    "--password-hash-rounds", "1", "--log-level", "critical", "--store-timeout", "1s",
                ])
            let (process, port) = (service.process, service.port)
            defer { if process.isRunning { process.interrupt() } }
            let user = try #require(
                try await SuiteContext(target: LoadTarget(parsing: "http://127.0.0.1:\(port)")).provision(1).first)
            let auth = [("Authorization", "Bearer \(user.token)")]
            let created = try await send(
                .json(
                    .POST, "/api/v1/events/", ["title": "Outage", "date": "2027-01-01T20:00:00Z", "seat_count": 10],
                    token: user.token), to: port)
            let eventID = try #require(created.json["id"] as? Int)
            let book = HTTPTestRequest.json(
                .POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1], token: user.token)
            var acknowledged: [Int] = []
            for _ in 0..<3 {
                let booked = try await send(book, to: port)
                acknowledged.append(try #require(booked.json["id"] as? Int))
            }

            try await cluster.stop()
            let duringOutage: [HTTPTestRequest] = [
                book, .init(.GET, "/api/v1/events/\(eventID)"), .init(.GET, "/api/v1/bookings/", headers: auth),
                .json(.POST, "/api/v1/credits/topup", ["amount": 5], token: user.token), .init(.GET, "/ready"),
            ]
            for request in duringOutage {
                let started = ContinuousClock.now
                let response = try await send(request, to: port)
                let waited = ContinuousClock.now - started
                #expect(response.status == 503, "\(request.method) \(request.path): \(response.text)")
                #expect(response.json["code"] as? String == "store_unavailable")
                #expect(response.headers["Retry-After"] == ["1"])
                // Answered by the store's bound (1 s, given above), not left waiting for a database that is gone. The
                // wide margin is for a loaded machine: this checks that the bound holds, not how fast the machine is.
                #expect(waited < .seconds(1) + .seconds(3), "\(request.method) \(request.path) took \(waited)")
            }
            // Found out of reach, the service stops trying every call: a burst of reads gets its 503s at once, each
            // untried but for at most one probe of the database at a time (two, should the burst outlast a probe).
            let burst = try await withThrowingTaskGroup(of: HTTPTestResponse.self) { group in
                for _ in 0..<20 { group.addTask { try await send(.init(.GET, "/api/v1/events/\(eventID)"), to: port) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(burst.allSatisfy { $0.status == 503 && $0.headers["Retry-After"] == ["1"] })
            let untried = burst.filter { ($0.json["detail"] as? String)?.contains("was not tried") == true }
            #expect(untried.count >= burst.count - 2, "\(burst.map { $0.json["detail"] ?? $0.status })")
            let health = try await send(.init(.GET, "/health"), to: port)
            #expect(health.status == 200)

            try await cluster.start()
            // Recovery needs no restart: the pool reconnects by itself. Polls readiness, bounded.
            var ready = false
            for _ in 0..<100 where !ready {
                ready = try await send(.init(.GET, "/ready"), to: port).status == 200
                if !ready { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(ready, "the service did not recover within 10 s of the database's return")
            let afterwards = try await send(book, to: port)
            #expect(afterwards.status == 201)
            acknowledged += [afterwards.json["id"] as? Int].compactMap { $0 }

            let mine = try await send(.init(.GET, "/api/v1/bookings/", headers: auth), to: port)
            let stored = (mine.json["bookings"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } ?? []
            #expect(Set(stored) == Set(acknowledged))
            let event = try await send(.init(.GET, "/api/v1/events/\(eventID)"), to: port)
            #expect(event.json["available_seats"] as? Int == 10 - stored.count)

            process.terminate()
            await ChildService.waitForExit(process)
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        }
    }
}
