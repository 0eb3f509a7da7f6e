import CFuzzDriver
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SwiftCSV

@testable import TurnstileLoad

/// The engine's parsers of untrusted input under libFuzzer: scenario files (YAML to a checked scenario), expressions,
/// templates, JSON paths over JSON answers, CSV files of users, HTTP/1.1 answers from a target, and a target's OpenAPI
/// documents as a bad-input phase reads them. Each must return,
/// whatever the bytes: an error is fine, a crash, a hang or unbounded memory is a finding.
///
/// `TURNSTILE_FUZZ_TARGET` names the target. Built for fuzzing (`.ci/fuzz.sh`), the program is libFuzzer: it takes
/// libFuzzer's flags and corpus folders. Built plainly, it replays files: `turnstile-fuzz` with the target in the
/// environment and the files as arguments runs each once, as a crash found by the fuzzer is reproduced.
@main
enum TurnstileFuzz {
    static func main() {
        guard let name = ProcessInfo.processInfo.environment["TURNSTILE_FUZZ_TARGET"],
            let target = FuzzTarget(rawValue: name)
        else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("set TURNSTILE_FUZZ_TARGET to one of: \(names)\n".utf8))
            exit(2)
        }
        FuzzTarget.selected = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let fuzzed = turnstile_fuzz_run(&argc, &argv) { data, size in
            FuzzTarget.selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        }
        guard fuzzed < 0 else { exit(fuzzed) }
        // Not built for fuzzing: replay each file named.
        for path in CommandLine.arguments.dropFirst() where !path.hasPrefix("-") {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
                exit(2)
            }
            target.run(Array(data))
            print("\(path): returned")
        }
    }
}

#if FUZZING
    /// libFuzzer's callback by its own name too: its runtime is linked whole, and its `main` wants this symbol.
    @_cdecl("LLVMFuzzerTestOneInput")
    func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        FuzzTarget.selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
#endif

/// One parser and what it is fed.
enum FuzzTarget: String, CaseIterable {
    case scenario, expression, template, jsonpath, csv, response, openapi

    /// The target chosen for this process (libFuzzer's callback cannot carry it): set by `main`, or read from the
    /// environment when libFuzzer's own `main` runs instead.
    nonisolated(unsafe) static var selected =
        ProcessInfo.processInfo.environment["TURNSTILE_FUZZ_TARGET"]
        .flatMap(FuzzTarget.init(rawValue:)) ?? .scenario

    static let origin = SourcePosition(file: "fuzz.yaml", line: 1, column: 1)

    /// A scope with a value of each kind, so that evaluation reaches every operator and function.
    struct Scope: ScenarioScope {
        static let values: [String: ScenarioValue] = [
            "n": .int(3), "x": .double(2.5), "s": .string("text"), "b": .bool(true), "nothing": .null,
            "l": .list([.int(1), .int(2), .string("three")]), "o": .object(["a": .int(1), "b": .list([.int(2)])]),
        ]
        func value(of name: String) -> ScenarioValue? { Self.values[name] }
        func count(request: String, outcome: String?) -> Int? { request == "buy" ? 7 : nil }
        func rate(of request: String) -> Double? { request == "buy" ? 3.5 : nil }
    }

    func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        switch self {
        case .scenario:
            _ = try? ScenarioFile(yaml: text, file: "fuzz.yaml", folder: URL(fileURLWithPath: "/nonexistent"))
        case .expression:
            _ = try? ScenarioExpression(text, at: Self.origin).evaluate(in: Scope())
        case .template:
            _ = try? ScenarioTemplate(text, at: Self.origin).render(in: Scope())
        case .jsonpath:
            // The first line is the path; the rest, the answer it reads.
            let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            let answer = ScenarioValue(jsonBytes: bytes[min(newline + 1, bytes.endIndex)...]) ?? .null
            _ = try? JSONPath(String(decoding: bytes[..<newline], as: UTF8.self)).select(in: answer)
        case .csv:
            // As a scenario's `users: {csv: …}` reads it.
            if let csv = try? NamedCSV(string: text, loadColumns: false) { _ = (csv.header, csv.rows.count) }
        case .response:
            Self.answer(bytes)
        case .openapi:
            // As a bad-input phase reads a target's document: every case made, each request built as it is sent.
            guard let document = try? OpenAPIBadInputs(bytes: bytes, name: "fuzz.json") else { return }
            let cases = document.cases(
                headers: ["Authorization": "Bearer x"], values: ["id": "7"], identity: ["Authorization"],
                bodyLimit: 64, limit: 64)
            for (_, made) in cases { _ = made.make() }
        }
    }

    /// Feeds `bytes` to an HTTP/1.1 connection's client pipeline as a target's answer to one request whose body is
    /// kept (capped at 64 KiB), then ends the connection.
    static func answer(_ bytes: [UInt8]) {
        let channel = EmbeddedChannel()
        // Accepting a channel the pipeline already closed: otherwise `finish` throws before it runs the loop, the
        // handlers are never removed, and the response handler's deadline sweep keeps the whole channel alive.
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        let handler = ResponseHandler(answerBytesKeptMax: 1 << 16)
        do {
            try channel.pipeline.syncOperations.addHandler(handler)
        } catch {
            fatalError("the client pipeline could not be built: \(error)")
        }
        // The first byte also says whether the request was a HEAD, whose answer has no body.
        handler.expect({ _ in }, keepBody: true, timeouts: .init(), isHead: bytes.first.map { $0 & 0x80 != 0 } ?? false)
        handler.requestWritten()
        // In two reads, split where the input says, as a network would split it.
        let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        _ = try? channel.writeInbound(ByteBuffer(bytes: bytes[..<split]))
        _ = try? channel.writeInbound(ByteBuffer(bytes: bytes[split...]))
        channel.pipeline.fireChannelInactive()
    }
}
