import Foundation
import NIOHTTP1
import Testing
import TurnstileLoad
import TurnstileTestSupport

@testable import turnstile

/// Schemathesis (PyPI), the property-based API tester, against a live `turnstile serve` and the OpenAPI document it
/// serves: every check, any finding fails. `.ci/run` installs it and sets `TURNSTILE_REQUIRE_SCHEMATHESIS=1`, so
/// there it must run; elsewhere it runs when `schemathesis` is found (`TURNSTILE_SCHEMATHESIS`, or on `PATH`).
enum Schemathesis {
    static let executable: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["TURNSTILE_SCHEMATHESIS"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        let folders = (environment["PATH"] ?? "").split(separator: ":")
        return folders.map { "\($0)/schemathesis" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static var isRequired: Bool { ProcessInfo.processInfo.environment["TURNSTILE_REQUIRE_SCHEMATHESIS"] == "1" }

    static var testsRun: Bool { executable != nil || isRequired }

    /// What schemathesis may not infer from the document (`.ci/schemathesis.toml`), each with its reason.
    static let configuration = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".ci/schemathesis.toml")
}

@Suite(
    "Schemathesis against turnstile serve", .timeLimit(.minutes(5)),
    .enabled(
        if: Schemathesis.testsRun,
        "schemathesis is not installed (pip install schemathesis, or set TURNSTILE_SCHEMATHESIS): skipped"))
struct SchemathesisTests {
    @Test("every schemathesis check passes against a live serve and its own /openapi.json")
    func everyCheckPasses() async throws {
        let schemathesis = try #require(
            Schemathesis.executable, "TURNSTILE_REQUIRE_SCHEMATHESIS=1, but schemathesis is not installed")
        let folder = try temporaryFolder("schemathesis")
        defer { try? FileManager.default.removeItem(at: folder) }
        let service = try await ChildService.launch(
            TurnstileProcess.executable,
            [
                "serve", "--port", "0", "--database", folder.appendingPathComponent("t.sqlite").path,
                "--password-hash-rounds", "1", "--log-level", "critical",
            ])
        defer { if service.process.isRunning { service.process.terminate() } }
        let credentials = ["email": "schemathesis@turnstile.test", "password": "password-1"]
        let registered = try await send(
            .json(.POST, "/api/v1/auth/register", credentials.merging(["username": "fuzz"]) { $1 }),
            to: service.port)
        #expect(registered.status == 201)
        let login = try await send(.json(.POST, "/api/v1/auth/login", credentials), to: service.port)
        let token = try #require(login.json["access_token"] as? String)

        // A fixed seed, so a finding reproduces; a few dozen cases per operation keep the run near 10 s.
        // In the test's folder, where Hypothesis keeps its examples.
        let (status, output) = try await TurnstileProcess.run(
            URL(fileURLWithPath: schemathesis),
            [
                "--config-file", Schemathesis.configuration.path, "run",
                "http://127.0.0.1:\(service.port)/openapi.json", "--header", "Authorization: Bearer \(token)",
                "--max-examples", "25", "--seed", "1", "--request-timeout", "10", "--workers", "1",
            ],
            in: folder)
        #expect(status == 0, "schemathesis found what the document and the service disagree on:\n\(output)")
        #expect(output.contains("passed"), "\(output)")
        await service.stop()
    }
}
