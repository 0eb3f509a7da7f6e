import Foundation
import NIOHTTP1
import Testing
import TurnstileLoad
import TurnstileTestSupport

@testable import turnstile

/// `turnstile serve` as a user runs it: the built executable, in its own process.
@Suite("turnstile serve process", .timeLimit(.minutes(1)))
struct ServeProcessTests {
    @Test("prints the URL it listens on, serves, and exits 0 on SIGTERM")
    func servesAndStopsCleanly() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let process = Process()
        process.executableURL = TurnstileProcess.executable
        process.arguments = [
            "serve", "--port", "0", "--database", directory.appendingPathComponent("t.sqlite").path,
            "--password-hash-rounds", "1", "--log-level", "warning",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { if process.isRunning { process.interrupt() } }

        // The first line names the port; reading ends at EOF if the process dies instead.
        let firstLine = try #require(await ChildService.firstLine(of: output.fileHandleForReading))
        let port = try #require(firstLine.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
        #expect(firstLine.hasPrefix("Turnstile listening on http://127.0.0.1:"))
        #expect(firstLine.hasSuffix("/api/v1, http://127.0.0.1:\(port)/openapi.json, /health, /ready, /metrics"))

        let health = try await send(.init(.GET, "/health"), to: port)
        #expect(health.status == 200)
        let user = try await send(
            .json(.POST, "/api/v1/auth/register", ["email": "p@t.io", "username": "proc", "password": "password1"]),
            to: port)
        #expect(user.status == 201)

        process.terminate()
        await ChildService.waitForExit(process)
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        let rest = await onOwnThread { output.fileHandleForReading.readDataToEndOfFile() }
        #expect(String(decoding: rest, as: UTF8.self) == "Turnstile stopped cleanly.\n")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("t.sqlite.jwt-secret").path))
    }
}

extension ServeProcessTests {
    @Test("at trace level, the log holds no JWT secret, password, password hash or access token")
    func secretsNeverLogged() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let secret = "jwt-secret-\(UUID().uuidString)"
        let password = "password-\(UUID().uuidString)"

        let process = Process()
        process.executableURL = TurnstileProcess.executable
        process.arguments = [
            "serve", "--port", "0", "--database", directory.appendingPathComponent("t.sqlite").path,
            "--password-hash-rounds", "1", "--log-level", "trace", "--jwt-secret", secret,
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { process.interrupt() } }
        // Read all along, so that a full pipe never stalls the server.
        let logged = Task { await onOwnThread { errors.fileHandleForReading.readDataToEndOfFile() } }
        let firstLine = try #require(await ChildService.firstLine(of: output.fileHandleForReading))
        let port = try #require(firstLine.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })

        let credentials = ["email": "s@t.io", "password": password]
        _ = try await send(
            .json(.POST, "/api/v1/auth/register", credentials.merging(["username": "secretive"]) { $1 }), to: port)
        let login = try await send(.json(.POST, "/api/v1/auth/login", credentials), to: port)
        let token = try #require(login.json["access_token"] as? String)
        let balance = try await send(
            .init(.GET, "/api/v1/credits/balance", headers: [("Authorization", "Bearer \(token)")]), to: port)
        #expect(balance.status == 200)
        // A failing login and a bad token are logged too, if anything is: neither may echo what was sent.
        _ = try await send(
            .json(.POST, "/api/v1/auth/login", ["email": "s@t.io", "password": password + "x"]), to: port)
        _ = try await send(
            .init(.GET, "/api/v1/credits/balance", headers: [("Authorization", "Bearer \(token)x")]), to: port)

        process.terminate()
        await ChildService.waitForExit(process)
        let log =
            String(decoding: await logged.value, as: UTF8.self)
            + String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("trace"), "trace logging was not on; the check would prove nothing")
        for secretText in [secret, password, token, String(token.split(separator: ".").last ?? "")] {
            #expect(!log.contains(secretText), "the log holds a secret")
        }
        #expect(!log.contains("pbkdf2"), "the log holds a password hash")
    }
}

/// What stops `serve` from starting is one clear line, and leaves nothing behind.
@Suite("turnstile serve refusals", .serialized, .timeLimit(.minutes(1)))
struct ServeRefusalTests {
    @Test("one serve per SQLite file: a second is refused while the first runs; GET / is an index; a stop says so")
    func oneServePerFile() async throws {
        let directory = try temporaryFolder("turnstile")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("t.sqlite").path
        let first = try await ChildService.launch(
            TurnstileProcess.executable,
            ["serve", "--port", "0", "--database", database, "--log-level", "critical"])
        defer { if first.process.isRunning { first.process.interrupt() } }

        let second = try await TurnstileProcess.runApart([
            "serve", "--port", "0", "--database", database, "--log-level", "critical",
        ])
        #expect(second.status == 1)
        #expect(
            second.errors == "error: \(database) is in use by another process (a second `turnstile serve`?): "
                + "one process serves an SQLite file; for several instances use --database postgres://…\n")

        let index = try await send(.init(.GET, "/"), to: first.port)
        #expect(index.status == 200)
        let links = try #require(index.json["links"] as? [String: String])
        #expect(links["openapi"] == "/openapi.json" && links["health"] == "/health" && links["metrics"] == "/metrics")

        first.process.terminate()
        await ChildService.waitForExit(first.process)
        #expect(first.process.terminationStatus == 0)
        // Once the first has stopped, the file is free again.
        let again = try await ChildService.launch(
            TurnstileProcess.executable,
            ["serve", "--port", "0", "--database", database, "--log-level", "critical"])
        again.process.terminate()
        await ChildService.waitForExit(again.process)
        #expect(again.process.terminationStatus == 0)
    }

    @Test("a port in use and a folder that does not exist: one line each, and no files left behind")
    func cannotStart() async throws {
        let directory = try temporaryFolder("turnstile")
        defer { try? FileManager.default.removeItem(at: directory) }
        let running = try await ChildService.launch(
            TurnstileProcess.executable,
            [
                "serve", "--port", "0", "--database", directory.appendingPathComponent("a.sqlite").path,
                "--log-level", "critical",
            ])
        defer { if running.process.isRunning { running.process.interrupt() } }

        let other = directory.appendingPathComponent("b.sqlite").path
        let busy = try await TurnstileProcess.runApart(["serve", "--port", String(running.port), "--database", other])
        #expect(busy.status == 1)
        #expect(
            busy.errors == "error: cannot listen on 127.0.0.1:\(running.port): the port is in use by another "
                + "process; pick another --port\n")
        #expect(!FileManager.default.fileExists(atPath: other))
        #expect(!FileManager.default.fileExists(atPath: other + ".jwt-secret"))

        let nowhere = try await TurnstileProcess.runApart([
            "serve", "--port", "0", "--database", "/nonexistent/x.sqlite",
        ])
        #expect(nowhere.status == 1)
        #expect(
            nowhere.errors == "error: the folder /nonexistent for --database /nonexistent/x.sqlite does not exist\n")
    }
}
