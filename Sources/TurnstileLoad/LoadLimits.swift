import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Every bound the stress engine keeps, in one place (the service's are in `TurnstileCore.Limits`).
public enum LoadLimits {
    /// The most buyers one barrier releases: on HTTP/1.1 each holds a connection of its own (and the target one more).
    public static let barrierUsersMax = 10_000
    /// The most users `--streams` puts on one HTTP/2 connection (a race puts no more than the server allows at once,
    /// which its settings say: more would wait in NIO's buffer, not race).
    public static let streamsPerConnectionMax = 1_000
    /// The most users set up at once while provisioning.
    public static let provisioningConcurrencyMax = 16
    /// How often one set-up call answered 429 is sent again after waiting its `Retry-After`.
    public static let setupRateLimitedRetriesMax = 60
    /// The longest `Retry-After` set-up waits out; a longer one ends the run (exit 3) with a hint.
    public static let setupRetryAfterSecondsMax = 5
    /// How often a set-up request that is safe to repeat is sent again after a timeout, a reset or a 502–504.
    public static let setupRetriesMax = 3
    /// The pause before a set-up request's first retry; the k-th waits k times as long.
    public static let setupRetryPause = Duration.milliseconds(500)
    /// The most of a scenario process's output kept in its log file, per life: past it, the output is still read (so
    /// the process never blocks on a full pipe) but dropped, and the log says so once.
    public static let processLogBytesMax = 64 << 20
    /// The longest pause between a patient call's tries (a read-back after faults, see ``APISession``).
    public static let setupRetryPauseMax = Duration.seconds(2)
    /// Set-up calls slower than this halve how many run at once; faster ones let one more run, up to
    /// ``provisioningConcurrencyMax``.
    public static let setupSlowCall = Duration.seconds(1)
    /// How long a set-up, provisioning or read-back request may take by default: longer than a measured one,
    /// because a slow target's sign-up (password hashing, say) is not what is being measured.
    public static let setupTimeout = TimeAmount.seconds(60)
    /// ``setupTimeout`` as a `Duration`.
    public static let setupTimeoutDuration = Duration.seconds(60)
    /// The most bytes of one answer the engine keeps unless `--max-answer-size` says otherwise (see
    /// ``HTTPOptions/answerBytesKeptMax``): far above any API's JSON, far below what would hurt the engine.
    public static let answerBytesKeptDefault = 16 << 20
    /// The most bytes of an HTTP/1.1 answer's head, status line included, or of a chunked body's trailers (as NIO's
    /// default): past it the answer is a protocol error (``HTTP1ResponseParser``).
    public static let answerHeadBytesMax = 80 * 1024
    /// The most bytes of one chunk-size line of a chunked HTTP/1.1 answer, extensions included.
    public static let answerChunkLineBytesMax = 4 * 1024
    /// The deepest nesting of arrays and objects a scenario reads in an answer; deeper is "not JSON", so a hostile
    /// answer cannot exhaust the stack.
    public static let answerJSONDepthMax = 512
    /// The largest scenario file, and the largest CSV file of users it names, that the engine reads. Bigger is
    /// refused before it is parsed: a scenario is a page of YAML, and a CSV of ten thousand accounts is under 1 MiB.
    public static let scenarioFileBytesMax = 1 << 20
    public static let scenarioCSVBytesMax = 16 << 20
    /// The largest body a scenario's request sends: a file it names (`file:`), or a string made by `repeat()` (which
    /// may pass ``expressionValueLengthMax``, so that a test of a size limit needs no huge line in the file).
    public static let requestBodyBytesMax = 16 << 20
    /// The most values (scalars, lists and mappings) one scenario file may hold. Anchors and aliases are refused
    /// outright, so the tree built from the file is never larger than the file.
    public static let scenarioYAMLNodesMax = 100_000
    /// The deepest lists and mappings nest in a scenario file.
    public static let scenarioYAMLDepthMax = 64
    /// The deepest an expression nests (brackets, `not`, `-`, and the chain of a long `a + b + …`): parsing and
    /// evaluating recurse once per level, so no input can exhaust the stack.
    public static let expressionDepthMax = 64
    /// The longest string (in UTF-8 bytes) and list (in elements) an expression may make, by `+` or `range()`: a
    /// chain of lets that doubles a value each time would otherwise take all memory.
    public static let expressionValueLengthMax = 1 << 20
    /// The most arrivals waiting for a connection on one event loop of an open executor.
    public static let openBacklogMax = 100_000
    /// How many encoded requests a connection remembers.
    public static let requestsEncodedRememberedMax = 256
    /// Status codes are counted in an array indexed by code; anything above is counted as 599.
    public static let statusCodesCounted = 600
    /// After a failed connect, a looping user waits this long before trying again.
    public static let reconnectDelay = TimeAmount.milliseconds(100)
    /// The largest WebSocket frame a live-feed subscriber accepts.
    public static let liveFrameBytesMax = 1 << 16
    /// The most live-feed subscribers one group of a scenario opens (each holds a connection, and the engine's
    /// memory for its receipts).
    public static let subscribersMax = 50_000
    /// The most keyed messages one group of subscribers keeps for judging (about 50 bytes each): 10,000 subscribers
    /// × 400 events. Past it a message is counted as not kept, and the feed cannot be judged complete.
    public static let feedReceiptsMax = 4_000_000
    /// How many live-feed subscribers connect at once while a fan-out run sets up.
    public static let liveConnectConcurrencyMax = 256
    /// The largest OpenAPI document a bad-input phase reads (from the target or beside the scenario).
    public static let openAPIDocumentBytesMax = 4 << 20
    /// How many `$ref`s deep an OpenAPI schema is followed: a cycle of references ends here.
    public static let openAPIReferenceDepthMax = 32
    /// The most operations of an OpenAPI document a bad-input phase makes inputs for; the rest are named as left out.
    public static let openAPIOperationsMax = 1_000
    /// The most properties of one object schema (and parameters of one operation) read from an OpenAPI document.
    public static let openAPIPropertiesMax = 1_000
    /// The most schemas visited to build one example value from an OpenAPI document.
    public static let openAPIExampleNodesMax = 10_000
    /// The most bad inputs one phase sends; past it, the rest are counted in a note, not sent.
    public static let badInputsMax = 20_000
    /// How long a shard may ask the target for its `Date` to compare clocks: two turns of its second, and a margin.
    public static let clockProbeDuration: Double = 2.5
    /// A barrier released at an instant (`--start-at`) opens its connections this long before it, and writes its
    /// requests (but for their last bytes) this long before it: early enough for thousands of each on one machine,
    /// late enough that no server closes them as idle or as a request too slow to arrive.
    public static let barrierConnectLead = TimeAmount.seconds(10)
    public static let barrierWriteLead = TimeAmount.seconds(1)
    /// How far ahead `--start-at` may be: a shard waits for it, and that wait is bounded too.
    public static let startAtAheadMax: Double = 86_400
    /// How often a connection checks its response deadlines.
    public static let deadlineSweepInterval = TimeAmount.milliseconds(50)

    /// Raises this process's open-file limit to the hard limit, so a race of thousands of connections is bounded by
    /// the system, not by a conservative default. Returns the limit now in force.
    @discardableResult
    public static func raiseOpenFileLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return UInt64(limit.rlim_cur)
    }
}
