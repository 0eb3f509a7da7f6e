/// The scenarios the built-in suites run, compiled into the binary from the repository's `scenarios/` folder.
public enum BundledScenario: String, CaseIterable, Sendable {
    case race
    case orders
    case ordersLifecycle = "orders-lifecycle"
    case credits
    case bids
    case crash
    case faults
    case fanout
    case edge
    case mixed
    case throughput

    /// The file's name in `scenarios/`.
    public var fileName: String { "\(rawValue).yaml" }

    /// The file's text.
    public var text: String {
        let bytes: [UInt8] =
            switch self {
            case .race: PackageResources.race_yaml
            case .orders: PackageResources.orders_yaml
            case .ordersLifecycle: PackageResources.orders_lifecycle_yaml
            case .credits: PackageResources.credits_yaml
            case .bids: PackageResources.bids_yaml
            case .crash: PackageResources.crash_yaml
            case .faults: PackageResources.faults_yaml
            case .fanout: PackageResources.fanout_yaml
            case .edge: PackageResources.edge_yaml
            case .mixed: PackageResources.mixed_yaml
            case .throughput: PackageResources.throughput_yaml
            }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The scenario, read and checked. A bundled file that does not read is a bug the tests catch.
    public func load() throws(ScenarioError) -> ScenarioFile {
        var scenario = try ScenarioFile(yaml: text, file: "scenarios/\(fileName)")
        scenario.isBundled = true
        return scenario
    }
}
