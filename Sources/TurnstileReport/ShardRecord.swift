import Foundation

/// What one shard of a sharded run carries to the merge besides its counts: which shard it is, the scenario it ran,
/// the run's values, the per-user values its invariants read, and when it released each phase by its own clock,
/// with that clock's offset from the target's.
///
/// A shard does not judge the invariants that need the whole run: `turnstile stress merge` judges them once, on
/// every shard's counts and one read-back.
public struct ShardRecord: Codable, Sendable {
    public var index: Int
    public var count: Int
    /// The scenario's text, and where it was read (its CSV files are read beside it again at the merge).
    public var scenarioText: String
    public var scenarioPath: String?
    /// The run's values (variables, `run`, the prepared set-up's captures), as JSON text by name.
    public var values: [String: String]
    /// Each name the invariants read, with every value this shard's users gave it (JSON text), in user order.
    public var history: [String: [String]]
    /// When each phase started (a barrier: released), by this shard's clock.
    public var starts: [PhaseStart] = []
    /// This shard's clock against the target's `Date` header, when measured.
    public var clock: ClockOffset?

    /// What a shard's report says of its invariants, and the merge takes out of the notes it adds up.
    public static let notJudgedHere = "the invariants are judged by `turnstile stress merge` on every shard's result"

    public struct PhaseStart: Codable, Sendable, Equatable {
        public var phase: String
        /// Unix seconds, to the microsecond.
        public var at: Double
        /// How late it started after `--start-at`, in seconds; 0 when on time or not asked.
        public var lateSeconds: Double

        public init(phase: String, at: Double, lateSeconds: Double) {
            self.phase = phase
            self.at = at
            self.lateSeconds = lateSeconds
        }
    }

    /// The target's clock minus this shard's (seconds), within ± `uncertainty`.
    public struct ClockOffset: Codable, Sendable, Equatable {
        public var offset: Double
        public var uncertainty: Double

        public init(offset: Double, uncertainty: Double) {
            self.offset = offset
            self.uncertainty = uncertainty
        }
    }

    public init(
        index: Int, count: Int, scenarioText: String, scenarioPath: String?, values: [String: String],
        history: [String: [String]]
    ) {
        self.index = index
        self.count = count
        self.scenarioText = scenarioText
        self.scenarioPath = scenarioPath
        self.values = values
        self.history = history
    }
}
