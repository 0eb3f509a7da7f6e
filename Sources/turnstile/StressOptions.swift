import ArgumentParser
import Foundation
import NIOCore
import TurnstileLoad
import TurnstileReport

/// Flags every run takes, whatever drives it: thresholds, the JSON result, and how long to wait for answers.
struct RunOptions: ParsableArguments {
    @Option(
        name: .customLong("threshold"),
        help: ArgumentHelp(
            "A pass/fail limit; repeat for several. E.g. 'p95<500ms', 'book:p99<1s', 'errors<1%', 'rps>100'.",
            discussion: """
                An open (--rate) phase is also held to 'dropped<1%' (arrivals never sent, for want of a free \
                connection) unless a 'dropped' limit is given, e.g. 'dropped<10%'.
                """,
            valueName: "limit"))
    var thresholds: [String] = []

    @Option(
        help: ArgumentHelp(
            "Write the complete, mergeable result as JSON to this file ('-': standard output).",
            valueName: "file"))
    var json: String?

    @Option(
        help: ArgumentHelp(
            "Write stats.csv, history.csv and invariants.csv into this folder (made if it does not exist).",
            valueName: "folder"))
    var csv: String?

    @Option(
        help: ArgumentHelp(
            "Write a self-contained HTML report (tables and charts, nothing fetched from elsewhere) to this file.",
            valueName: "file"))
    var html: String?

    @OptionGroup var live: LiveOptions

    @Option(
        help: ArgumentHelp(
            "For an https:// target: trust the certificates in this PEM file (a private CA, a self-signed "
                + "service) instead of the system's.", valueName: "file"))
    var caFile: String?

    @Flag(help: "For an https:// target: do not verify its certificate at all (the report says so).")
    var insecure = false

    /// How an https target's certificate is checked.
    var tls: TLSOptions { TLSOptions(caFile: caFile, insecure: insecure) }

    @Option(
        help: ArgumentHelp(
            "The HTTP version: auto (HTTP/2 where an https:// target agrees in the TLS handshake, HTTP/1.1 "
                + "otherwise), 1.1, or 2 (on http://, HTTP/2 with prior knowledge: h2c).", valueName: "version"))
    var http = HTTPOptions.Version.auto

    @Option(
        help: ArgumentHelp(
            "On HTTP/2, how many users share one connection, each request a stream of it (default 1; a race's "
                + "default is \(BarrierExecutor.streamsPerConnection), its single-packet release).", valueName: "n"))
    var streams: Int?

    @Option(
        help: ArgumentHelp(
            "The most bytes of one answer the engine keeps (set-up, read-back, captures), e.g. 16MiB: a larger one "
                + "fails its request, and a set-up or read-back call ends the run (exit 3).", valueName: "size"))
    var maxAnswerSize = ByteCountArgument(bytes: LoadLimits.answerBytesKeptDefault)

    /// Which HTTP to speak, and how much of an answer to keep.
    var httpOptions: HTTPOptions {
        HTTPOptions(version: http, streams: streams, answerBytesKeptMax: maxAnswerSize.bytes)
    }

    @Option(
        name: .customLong("local-ips"),
        help: ArgumentHelp(
            "Spread every connection the engine opens over these source addresses, in turn: a list and ranges, e.g. "
                + "127.0.0.2-127.0.0.9 or fd00::1-fd00::8. A target that caps connections per address (Turnstile: "
                + "1,024) then sees many, and one machine opens more connections than one address's ports allow.",
            valueName: "addresses"))
    var localIPs: String?

    /// The target `url` names, reached as these flags say (its certificate checked, its HTTP version chosen, its
    /// connections from the --local-ips, which must be this machine's).
    func target(_ url: String) throws(LoadTargetError) -> LoadTarget {
        let sources = try localIPs.map { text throws(LoadTargetError) in try SourceAddresses(parsing: text) }
        let target = try LoadTarget(parsing: url, tls: tls, http: httpOptions, sources: sources)
        try sources?.check(against: target)
        return target
    }

    @Option(help: "How long a response may take in all before it counts as a timeout, e.g. 5s.")
    var timeout = DurationArgument(seconds: 30)

    @Option(help: "How long a silence (nothing received) may last while awaiting a response, e.g. 2s.")
    var readTimeout = DurationArgument(seconds: 10)

    @Option(
        help: ArgumentHelp(
            "How long a set-up call (provisioning, set-up, read-back) may take; it is not measured, so longer.",
            valueName: "time"))
    var setupTimeout = DurationArgument(LoadLimits.setupTimeoutDuration)

    @Option(
        help: ArgumentHelp(
            "The run's id in the JSON result (random unless given); give every shard of one run the same one.",
            discussion: "`turnstile stress merge` merges only results of one run id and suite.", valueName: "id"))
    var runID: String?

    /// The run id given, or a fresh one: read it once per run.
    var newRunID: String { runID ?? RunReport.newRunID() }

    /// Where a scenario's processes write their output: a folder beside the first report file asked for (`--json`,
    /// `--html`, `--csv`), or in the temporary folder when the console is the only report.
    func logFolder(runID: String) -> URL {
        let name = "turnstile-\(runID)-logs"
        if let csv { return URL(fileURLWithPath: csv).appendingPathComponent(name) }
        if let file = [json, html].compactMap({ $0 }).first(where: { $0 != "-" }) {
            return URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(name)
        }
        return FileManager.default.temporaryDirectory.appendingPathComponent(name)
    }

    var parsedThresholds: [Threshold] { get throws { try thresholds.map { try Threshold(parsing: $0) } } }
    var setupTimeouts: HTTPClientConnection.Timeouts {
        HTTPClientConnection.Timeouts(read: setupTimeout.timeAmount, response: setupTimeout.timeAmount)
    }
    var timeouts: HTTPClientConnection.Timeouts {
        HTTPClientConnection.Timeouts(
            read: min(readTimeout.timeAmount, timeout.timeAmount), response: timeout.timeAmount)
    }

    func validate() throws {
        do { _ = try parsedThresholds } catch { throw ValidationError("\(error)") }
        try OutputPath.validate(json, flag: "--json")
        try OutputPath.validateFolder(csv, flag: "--csv")
        try OutputPath.validate(html, flag: "--html")
        if let streams, !(1...LoadLimits.streamsPerConnectionMax).contains(streams) {
            throw ValidationError("--streams must be 1...\(LoadLimits.streamsPerConnectionMax)")
        }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ValidationError("--ca-file \(caFile): not a file that can be read")
        }
        if let runID, runID.isEmpty || !runID.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            throw ValidationError("--run-id takes letters, digits, '-' and '_'")
        }
    }

}

/// Where a run writes a result: checked before the run, so a typo costs nothing.
enum OutputPath {
    /// Throws unless `path` (when given) is a writable folder, or one that can be made in a folder that exists.
    static func validateFolder(_ path: String?, flag: String) throws {
        guard let path else { return }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue, FileManager.default.isWritableFile(atPath: path) else {
                throw ValidationError("\(flag) \(path): not a folder that can be written")
            }
            return
        }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isFolder), isFolder.boolValue else {
            throw ValidationError("\(flag) \(path): the folder \(parent) does not exist")
        }
    }

    /// Throws unless `path` (when given, and not `-` for standard output) can be written: its folder exists and is
    /// writable, and the file, if it exists, is a writable file.
    static func validate(_ path: String?, flag: String) throws {
        guard let path, path != "-" else { return }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw ValidationError("\(flag) \(path): the folder \(folder) does not exist")
        }
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) {
            guard !isFolder.boolValue, FileManager.default.isWritableFile(atPath: url.path) else {
                throw ValidationError("\(flag) \(path): not a file that can be written")
            }
        } else if !FileManager.default.isWritableFile(atPath: folder) {
            throw ValidationError("\(flag) \(path): the folder \(folder) is not writable")
        }
    }
}

/// `--target`, the one way every command that sends to an API names it.
struct TargetOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The API under test: its http:// or https:// base URL.",
            discussion: """
                A scenario's paths are appended to it; the built-in suites add Turnstile's /api/v1 themselves, so \
                for them it is the service's root.
                """,
            valueName: "url"))
    var target = "http://127.0.0.1:8080"
}

/// Flags every `turnstile stress` suite against an API takes: the target, and the run's own.
struct StressOptions: ParsableArguments {
    @OptionGroup var api: TargetOptions

    @OptionGroup var run: RunOptions

    var loadTarget: LoadTarget { get throws { try run.target(api.target) } }
    var parsedThresholds: [Threshold] { get throws { try run.parsedThresholds } }
    var timeouts: HTTPClientConnection.Timeouts { run.timeouts }
    var setupTimeouts: HTTPClientConnection.Timeouts { run.setupTimeouts }

    func validate() throws {
        let parsed: LoadTarget
        do { parsed = try loadTarget } catch { throw ValidationError("\(error)") }
        // The suites add the API's own prefix to every path: a target that carries it would double it.
        let target = api.target
        if let prefix = ["/api/v1", "/api"].first(where: { parsed.basePath.hasSuffix($0) }) {
            let base = String(target.dropLast(target.hasSuffix("/") ? prefix.count + 1 : prefix.count))
            throw ValidationError("--target \(target) includes the API prefix \(prefix): pass --target \(base)")
        }
    }

}

/// How every run ends: the tables, an optional epilogue (the demo's scorecard), the JSON result if asked for, and
/// the outcome's exit code. With `--json -` the JSON goes to standard output alone and the tables to standard error.
enum RunOutput {
    /// Writes everything (see ``write(_:json:csv:html:epilogue:)``), then ends the command with the outcome's exit code.
    static func finish(
        _ report: RunReport, json: String?, csv: String? = nil, html: String? = nil, epilogue: String? = nil
    ) throws -> Never {
        write(report, json: json, csv: csv, html: html, epilogue: epilogue)
        throw ExitCode(report.outcome.rawValue)
    }

    /// Prints the tables and the epilogue, and writes the JSON, CSV and HTML asked for; a file that cannot be
    /// written ends the command (exit 3).
    static func write(
        _ report: RunReport, json: String?, csv: String? = nil, html: String? = nil, epilogue: String? = nil
    ) {
        // A target's answers and a scenario's names reach these tables: nothing in them may steer the terminal.
        let tables = Format.printable(ConsoleRenderer.render(report) + (epilogue.map { $0 + "\n" } ?? ""))
        let jsonOnStandardOutput = json == "-"
        if jsonOnStandardOutput {
            FileHandle.standardError.write(Data(tables.utf8))
            var data = (try? JSONReport.encode(report)) ?? Data()
            data.append(UInt8(ascii: "\n"))
            FileHandle.standardOutput.write(data)
        } else {
            print(tables, terminator: "")
            if let json {
                let data: Data
                do { data = try JSONReport.encode(report) } catch { fail("could not encode the result: \(error)") }
                write([(json, data)], what: json)
                print("Result written to \(json)")
            }
        }
        if let csv { writeCSV(report, to: csv, jsonOnStandardOutput: jsonOnStandardOutput) }
        if let html { writeHTML(report, to: html, jsonOnStandardOutput: jsonOnStandardOutput) }
        // The process may go on (a dashboard lingering): what it printed must not wait in a buffer until it exits.
        fflush(nil)
    }

    /// Writes the HTML report to `path`, with the command line that ran the run (this process's, unless the report
    /// is rendered later, when it is not known).
    static func writeHTML(
        _ report: RunReport, to path: String, ranHere: Bool = true, jsonOnStandardOutput: Bool = false
    ) {
        let command = ranHere ? RedactedCommandLine.current : nil
        write([(path, Data(HTMLReport.render(report, command: command).utf8))], what: path)
        notice("HTML report written to \(path)", jsonOnStandardOutput: jsonOnStandardOutput)
    }

    /// Writes the CSV files into `folder`, made if needed.
    static func writeCSV(_ report: RunReport, to folder: String, jsonOnStandardOutput: Bool = false) {
        let files = CSVReport.files(for: report)
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            fail("could not make \(folder): \(error.localizedDescription)")
        }
        write(
            files.map { (URL(fileURLWithPath: folder).appendingPathComponent($0.name).path, Data($0.text.utf8)) },
            what: "the CSV files into \(folder)")
        notice(
            "CSV written to \(folder) (\(files.map(\.name).joined(separator: ", ")))",
            jsonOnStandardOutput: jsonOnStandardOutput)
    }

    /// Writes each file; one that cannot be written ends the command with one line on standard error, exit 3.
    static func write(_ files: [(path: String, data: Data)], what: String) {
        for file in files {
            do { try file.data.write(to: URL(fileURLWithPath: file.path)) } catch {
                fail("could not write \(what): \(error.localizedDescription)")
            }
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        Foundation.exit(RunExit.couldNotRun)
    }

    /// Says where a result went, beside the tables: on standard output, unless the JSON itself took it.
    static func notice(_ line: String, jsonOnStandardOutput: Bool) {
        if jsonOnStandardOutput {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        } else {
            print(line)
        }
    }
}

/// A size in bytes: a whole number, or one with a binary unit, `512KiB`, `16MiB`, `1GiB`.
struct ByteCountArgument: ExpressibleByArgument, Sendable {
    let bytes: Int

    private static let units: [(suffix: String, scale: Int)] = [
        ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1),
    ]

    init?(argument: String) {
        let unit = Self.units.first { argument.hasSuffix($0.suffix) } ?? ("", 1)
        guard let count = Int(argument.dropLast(unit.suffix.count)), count > 0 else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: unit.scale)
        guard !overflow else { return nil }
        self.bytes = bytes
    }

    init(bytes: Int) {
        self.bytes = bytes
    }

    var defaultValueDescription: String {
        Self.units.first { bytes % $0.scale == 0 }.map { "\(bytes / $0.scale)\($0.suffix)" } ?? "\(bytes)"
    }
}

/// A length of time on the command line, always with a unit: `10s`, `500ms`, `2m`, `1h`.
struct DurationArgument: ExpressibleByArgument, Sendable {
    let timeAmount: TimeAmount

    init?(argument: String) {
        guard let time = TimeAmount(parsing: argument), time > .zero else { return nil }
        timeAmount = time
    }

    init(seconds: Int64) {
        timeAmount = .seconds(seconds)
    }

    init(milliseconds: Int64) {
        timeAmount = .milliseconds(milliseconds)
    }

    init(_ duration: Duration) {
        timeAmount = TimeAmount(duration)
    }

    /// `10s`, `500ms`: how `--help` shows a default.
    var defaultValueDescription: String { Self.describe(timeAmount) }

    static func describe(_ time: TimeAmount) -> String {
        let nanoseconds = time.nanoseconds
        if nanoseconds % 3_600_000_000_000 == 0, nanoseconds > 0 { return "\(nanoseconds / 3_600_000_000_000)h" }
        if nanoseconds % 60_000_000_000 == 0, nanoseconds > 0 { return "\(nanoseconds / 60_000_000_000)m" }
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000)s" }
        if nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        return "\(Double(nanoseconds) / 1e6)ms"
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

extension HTTPOptions.Version: ExpressibleByArgument {}
