import Foundation

/// The complete report as JSON: everything needed to merge shards (histograms included) and to render again.
/// Compact (one line): a run's histograms make a pretty-printed file several times larger for no reader's gain;
/// `python3 -m json.tool` or `jq` print it readably.
public enum JSONReport {
    public static func encode(_ report: RunReport) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try encoder.encode(report)
    }

    public static func decode(_ data: Data) throws -> RunReport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(RunReport.self, from: data)
    }
}
