import Foundation
import TurnstileLoad

/// Debian's `chromium`, headless, for tests of the pages Turnstile makes. `.ci/run` installs it and sets
/// `TURNSTILE_REQUIRE_CHROMIUM=1`, so there the browser tests must run; elsewhere they run when a browser is found.
enum Chromium {
    /// The browser's path, if one is on `PATH`.
    static let executable: String? = {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for folder in folders where FileManager.default.isExecutableFile(atPath: "\(folder)/\(name)") {
                return "\(folder)/\(name)"
            }
        }
        return nil
    }()

    static var isRequired: Bool { ProcessInfo.processInfo.environment["TURNSTILE_REQUIRE_CHROMIUM"] == "1" }

    /// Whether browser tests run: a browser is here, or one is required (and its absence fails them).
    static var testsRun: Bool { executable != nil || isRequired }

    /// The page's DOM after its scripts ran for `budget` of virtual time (network events, such as Server-Sent
    /// Events, arrive meanwhile).
    static func dumpDOM(_ url: String, budget: Duration = .seconds(1)) async throws -> String {
        try await run(["--dump-dom", "--virtual-time-budget=\(budget.components.seconds * 1_000)", url])
    }

    /// A PNG screenshot of the page at `width`×`height` into `path`, taken 2.5 s after it starts loading. (Not
    /// after a virtual-time budget: with an event stream open, a headless screenshot would wait for it forever.)
    static func screenshot(_ url: String, to path: String, width: Int = 1200, height: Int = 1600) async throws {
        _ = try await run([
            "--screenshot=\(path)", "--window-size=\(width),\(height)", "--hide-scrollbars", "--timeout=2500", url,
        ])
    }

    /// Runs the browser headless with `arguments`, in a throwaway profile, for at most 60 seconds; returns what it
    /// printed on standard output.
    private static func run(_ arguments: [String]) async throws -> String {
        guard let executable else { throw BrowserMissing() }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--user-data-dir=\(profile.path)",
            ] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            process.terminate()
        }
        let data = await onOwnThread { output.fileHandleForReading.readDataToEndOfFile() }
        await onOwnThread { process.waitUntilExit() }
        watchdog.cancel()
        return String(decoding: data, as: UTF8.self)
    }

    struct BrowserMissing: Error, CustomStringConvertible {
        var description: String {
            "TURNSTILE_REQUIRE_CHROMIUM=1 but no chromium on PATH: install Debian's chromium (.ci/run does)"
        }
    }

    /// The `data-…` attributes of the page's `<body>`, from a dumped DOM.
    static func bodyData(_ dom: String) -> [String: String] {
        guard let start = dom.range(of: "<body"), let end = dom[start.upperBound...].firstIndex(of: ">") else {
            return [:]
        }
        var data: [String: String] = [:]
        var rest = dom[start.upperBound..<end]
        while let attribute = rest.range(of: " data-"), let equals = rest[attribute.upperBound...].range(of: "=\""),
            let close = rest[equals.upperBound...].firstIndex(of: "\"")
        {
            data[String(rest[attribute.upperBound..<equals.lowerBound])] = String(rest[equals.upperBound..<close])
            rest = rest[rest.index(after: close)...]
        }
        return data
    }
}
