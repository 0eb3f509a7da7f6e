import ArgumentParser
import Foundation
import Logging
import Testing
import TurnstileSQLite

@testable import turnstile

@Suite("turnstile serve")
struct ServeCommandTests {
    @Test("defaults: loopback, 8080, ./turnstile.sqlite, full durability")
    func defaults() throws {
        let command = try #require(try Turnstile.parseAsRoot(["serve"]) as? ServeCommand)
        #expect(command.listening.host == "127.0.0.1")
        #expect(command.listening.port == 8080)
        #expect(command.storage.database == "./turnstile.sqlite")
        #expect(command.storage.durability == .full)
        #expect(command.auth.jwtSecret == nil)
    }

    @Test("flags are read")
    func flags() throws {
        let command = try #require(
            try Turnstile.parseAsRoot([
                "serve", "--host", "0.0.0.0", "--port", "9000", "--database", "/tmp/x.sqlite", "--durability",
                "normal", "--log-level", "debug", "--jwt-secret", String(repeating: "s", count: 32),
            ]) as? ServeCommand)
        #expect(command.listening.host == "0.0.0.0" && command.listening.port == 9000)
        #expect(command.storage.database == "/tmp/x.sqlite" && command.storage.durability == .normal)
        #expect(command.logging.logLevel == .debug)
    }

    @Test(
        "bad values are refused before anything starts",
        arguments: [
            ["serve", "--port", "70000"], ["serve", "--jwt-secret", "short"], ["serve", "--durability", "maybe"],
            ["serve", "--password-hash-rounds", "0"], ["serve", "--pool-size", "1"],
            ["serve", "--database", "postgres://turnstile@127.0.0.1:5432/turnstile"],
            [
                "serve", "--database", "postgres://127.0.0.1/turnstile", "--jwt-secret",
                String(repeating: "s", count: 32),
            ],
            ["serve", "--store-timeout", "1ms"], ["serve", "--tls-cert", "cert.pem"],
        ])
    func refusals(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try Turnstile.parseAsRoot(arguments) }
    }
}

extension ServeCommandTests {
    @Test("--help shows the options in groups, PostgreSQL's apart from SQLite's")
    func helpGroups() {
        let help = Turnstile.helpMessage(for: ServeCommand.self, columns: 120)
        let titles = ["LISTENING:", "STORAGE:", "POSTGRESQL:", "LIMITS:", "AUTH:", "LOGGING:"]
        let places = titles.map { help.range(of: "\n\($0)\n")?.lowerBound }
        #expect(places.allSatisfy { $0 != nil }, "\(help)")
        #expect(places.compactMap { $0 } == places.compactMap { $0 }.sorted(), "the groups in this order")
        let postgres = help[help.range(of: "POSTGRESQL:")!.upperBound...]
        let next = postgres.range(of: "LIMITS:")!.lowerBound
        #expect(postgres[..<next].contains("--pool-size") && !postgres[..<next].contains("--durability"))
    }
}

@Suite("JWT secret")
struct JWTSecretTests {
    @Test("a generated secret is kept beside the database and reused")
    func keptAndReused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("turnstile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("t.sqlite").path

        let first = try JWTSecret.resolve(explicit: nil, keptBeside: database)
        let second = try JWTSecret.resolve(explicit: nil, keptBeside: database)
        #expect(first.count == 32 && first == second)
        let attributes = try FileManager.default.attributesOfItem(atPath: database + ".jwt-secret")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try JWTSecret.resolve(explicit: "explicit", keptBeside: database) == Array("explicit".utf8))

        try Data("not hex".utf8).write(to: URL(fileURLWithPath: database + ".jwt-secret"))
        #expect(throws: JWTSecret.SecretFileError.self) { try JWTSecret.resolve(explicit: nil, keptBeside: database) }
    }
}
