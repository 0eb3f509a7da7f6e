import Foundation
import NIOCore
import NIOPosix
import TurnstileLoad

/// The tutorial's shop under fire (`docs/examples/under-fire`): a Python shop and its store, started by the scenario
/// itself. `python3` is all it needs; `.ci/run` sets `TURNSTILE_REQUIRE_PYTHON=1`, so there these tests must run.
public enum UnderFire {
    public static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/examples/under-fire").standardizedFileURL
    public static let file = folder.appendingPathComponent("under-fire.yaml")

    /// Whether the tests that start Python processes run: python3 is here, or it is required (and its absence
    /// fails them).
    public static var testsRun: Bool {
        python != nil || ProcessInfo.processInfo.environment["TURNSTILE_REQUIRE_PYTHON"] == "1"
    }

    static let python: String? = {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(folder)/python3") {
            return "\(folder)/python3"
        }
        return nil
    }()

    /// Three ports free on loopback now, for the shop, its store and the proxy between them: the scenario's
    /// `shop_port`, `store_port` and `link_port`.
    public static func ports() async throws -> [String: ScenarioValue] {
        var ports: [Int] = []
        while ports.count < 3 {
            let port = try await freePort()
            if !ports.contains(port) { ports.append(port) }
        }
        return ["shop_port": .int(ports[0]), "store_port": .int(ports[1]), "link_port": .int(ports[2])]
    }

    /// A TCP port nothing listens on now (see ``LoopbackPort/free()``).
    public static func freePort() async throws -> Int {
        try await LoopbackPort.free()
    }

    /// A copy of the example's folder in a fresh temporary folder, its scenario changed by `edit`: the variant a test
    /// needs (another fault effect, say), with the same shop beside it.
    public static func variant(_ edit: (String) -> String) throws -> URL {
        let copy = try temporaryFolder("under-fire")
        for name in ["shop.py", "store.py"] {
            try FileManager.default.copyItem(
                at: folder.appendingPathComponent(name), to: copy.appendingPathComponent(name))
        }
        let text = try String(contentsOf: file, encoding: .utf8)
        try edit(text).write(to: copy.appendingPathComponent("under-fire.yaml"), atomically: true, encoding: .utf8)
        return copy.appendingPathComponent("under-fire.yaml")
    }
}
