import ArgumentParser
import Foundation
import TurnstileReport

/// `turnstile report`: saved JSON results rendered again (`render`, the default) or set side by side (`compare`).
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a saved JSON result as HTML or CSV, or compare two results side by side.",
        subcommands: [RenderReportCommand.self, CompareReportCommand.self],
        defaultSubcommand: RenderReportCommand.self
    )
}

/// `turnstile report [render] RESULT.json`: renders a saved (or merged) result again, as HTML or CSV.
struct RenderReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a saved JSON result as a self-contained HTML report, or as CSV files (the default).",
        discussion: """
            Reads a result that `--json` wrote (one run, or one `turnstile stress merge` made) and writes what \
            --html and --csv ask for; nothing is sent anywhere. The exit code says whether the rendering worked, \
            not how the run went.

            Examples:
              turnstile report race.json --html race.html
              turnstile report all.json --html all.html --csv all-csv
            """
    )

    @Argument(help: ArgumentHelp("A JSON result.", valueName: "result.json"))
    var file: String

    @Option(help: ArgumentHelp("Write the HTML report to this file.", valueName: "file"))
    var html: String?

    @Option(
        help: ArgumentHelp("Write stats.csv, history.csv and invariants.csv into this folder.", valueName: "folder"))
    var csv: String?

    func validate() throws {
        guard html != nil || csv != nil else { throw ValidationError("say what to write: --html FILE, --csv FOLDER") }
        try OutputPath.validate(html, flag: "--html")
        try OutputPath.validateFolder(csv, flag: "--csv")
    }

    func run() async throws {
        let report = ResultFile.read(file)
        if let html { RunOutput.writeHTML(report, to: html, ranHere: false) }
        if let csv { RunOutput.writeCSV(report, to: csv) }
    }
}

/// `turnstile report compare A.json B.json`: two runs of one test side by side.
struct CompareReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two saved JSON results of the same test side by side: cache on and off, before and after.",
        discussion: """
            For each phase and endpoint of either result: requests per second, the failure ratio and p50/p95/p99 \
            of both, the change from the first to the second in percent, and which did better (fewer failures by \
            more than a point, then a p95 lower by more than 5 %, then 5 % more requests per second). Printed as a \
            table; --html and --csv write it too. Results of different suites or scenarios, or with no phase in \
            common, are refused unless --allow-different is given. Nothing is sent anywhere; the exit code says \
            whether the comparison was made.

            Examples:
              turnstile report compare cached.json uncached.json
              turnstile report compare before.json after.json --html compare.html --csv compare-csv
            """
    )

    @Argument(help: ArgumentHelp("The first JSON result.", valueName: "a.json"))
    var first: String

    @Argument(help: ArgumentHelp("The second JSON result.", valueName: "b.json"))
    var second: String

    @Option(help: ArgumentHelp("Write the comparison as an HTML page to this file.", valueName: "file"))
    var html: String?

    @Option(help: ArgumentHelp("Write compare.csv into this folder.", valueName: "folder"))
    var csv: String?

    @Flag(help: "Compare results of different suites or scenarios, or without a phase in common, all the same.")
    var allowDifferent = false

    func validate() throws {
        try OutputPath.validate(html, flag: "--html")
        try OutputPath.validateFolder(csv, flag: "--csv")
    }

    func run() async throws {
        let (a, b) = (ResultFile.read(first), ResultFile.read(second))
        if !allowDifferent, let mismatch = RunComparison.mismatch(a, b) {
            ResultFile.fail("\(first) and \(second) are not two runs of one test: \(mismatch) (--allow-different)")
        }
        let names = Self.names(first, second)
        let comparison = RunComparison(a, b, names: names)
        let (header, rows) = comparison.table
        print(Format.printable("\(names.a) against \(names.b)\n" + ConsoleRenderer.table(header: header, rows: rows)))
        if let html {
            RunOutput.write([(html, Data(HTMLReport.comparison(comparison).utf8))], what: html)
            RunOutput.notice("HTML comparison written to \(html)", jsonOnStandardOutput: false)
        }
        if let csv {
            let file = CSVReport.comparison(comparison)
            do { try FileManager.default.createDirectory(atPath: csv, withIntermediateDirectories: true) } catch {
                ResultFile.fail("could not make \(csv): \(error.localizedDescription)")
            }
            let path = URL(fileURLWithPath: csv).appendingPathComponent(file.name).path
            RunOutput.write([(path, Data(file.text.utf8))], what: path)
            RunOutput.notice("CSV written to \(path)", jsonOnStandardOutput: false)
        }
    }

    /// The files' names without `.json`, or their paths when the names are the same.
    static func names(_ first: String, _ second: String) -> (a: String, b: String) {
        let a = URL(fileURLWithPath: first).deletingPathExtension().lastPathComponent
        let b = URL(fileURLWithPath: second).deletingPathExtension().lastPathComponent
        return a == b ? (first, second) : (a, b)
    }
}

/// A JSON result on disk.
enum ResultFile {
    /// The result in `path`; a missing or unreadable file, or one that is not a result, ends the command with one
    /// line, exit 3.
    static func read(_ path: String) -> RunReport {
        guard FileManager.default.fileExists(atPath: path) else { fail("\(path): no such file") }
        guard let data = FileManager.default.contents(atPath: path) else { fail("\(path): cannot be read") }
        do {
            return try JSONReport.decode(data)
        } catch {
            fail("\(path) is not a Turnstile JSON result (\(describe(error)))")
        }
    }

    /// Ends the command with one line on standard error and exit code 3.
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        Foundation.exit(RunExit.couldNotRun)
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "no '\(key.stringValue)' field"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            context.debugDescription
        default: "\(error)"
        }
    }
}
