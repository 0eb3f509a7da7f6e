import Foundation
import Testing
import TurnstileReport
import TurnstileTestSupport

/// `turnstile report compare` on two saved results of real runs: the table, its CSV and HTML, and the refusal of
/// results of two different tests.
@Suite("turnstile report compare", .serialized, .timeLimit(.minutes(2)))
struct CompareProcessTests {
    @Test("two runs of one test side by side; a run of another test is refused unless told; the page renders")
    func compare() async throws {
        let folder = try temporaryFolder("compare")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (first, second, race) = (
            folder.appendingPathComponent("first.json"), folder.appendingPathComponent("second.json"),
            folder.appendingPathComponent("race.json")
        )
        try await LiveServer.with { server in
            for file in [first, second] {
                let (status, output) = try await TurnstileProcess.run([
                    "stress", "url", "http://127.0.0.1:\(server.port)/health", "-c", "2", "-d", "1s", "--json",
                    file.path,
                ])
                #expect(status == 0, "\(output)")
            }
            let (status, output) = try await TurnstileProcess.run([
                "stress", "race", "--target", "http://127.0.0.1:\(server.port)", "--users", "5", "--capacity", "2",
                "--json", race.path,
            ])
            #expect(status == 0, "\(output)")
        }
        let html = folder.appendingPathComponent("compare.html")
        let (status, output) = try await TurnstileProcess.run([
            "report", "compare", first.path, second.path, "--html", html.path, "--csv",
            folder.appendingPathComponent("csv").path,
        ])
        #expect(status == 0, "\(output)")
        #expect(output.hasPrefix("first against second\n"), "\(output)")
        #expect(output.contains("rps first  rps second  change") && output.contains("better"), "\(output)")
        let csv = try String(contentsOf: folder.appendingPathComponent("csv/compare.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("phase,endpoint,a_rps,b_rps,"), "\(csv)")

        let (refused, refusal) = try await TurnstileProcess.run(["report", "compare", first.path, race.path])
        #expect(refused == 3, "\(refusal)")
        #expect(refusal.contains("are not two runs of one test: one is a run of 'url', the other of 'race'"))
        let (allowed, _) = try await TurnstileProcess.run([
            "report", "compare", first.path, race.path, "--allow-different",
        ])
        #expect(allowed == 0)
        // `report FILE` still renders one result: `render` is the default.
        let (rendered, renderOutput) = try await TurnstileProcess.run([
            "report", first.path, "--html", folder.appendingPathComponent("first.html").path,
        ])
        #expect(rendered == 0, "\(renderOutput)")

        if Chromium.testsRun {
            let dom = try await Chromium.dumpDOM(html.absoluteString)
            #expect(dom.contains("first against second") && dom.contains("<table"), "\(dom.prefix(500))")
        }
    }
}
