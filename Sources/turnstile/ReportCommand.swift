import ArgumentParser
import Foundation
import TurnstileReport

/// `turnstile report RESULT.json`: renders a saved (or merged) result again, as HTML or CSV.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a saved JSON result as a self-contained HTML report, or as CSV files.",
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
