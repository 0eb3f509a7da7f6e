import TurnstileStore

extension StoreTimeouts {
    /// For tests of exactness: on a test machine running every suite at once, a commit's fsync can take longer than
    /// the service's one-second bound, and a 503 would read as a miscount. The bounds have tests of their own
    /// (StoreDeadline, WriteQueue, the PostgreSQL outage, the faults suite), which use the real defaults.
    public static let patient = StoreTimeouts(bound: .seconds(30))

    /// The same, as `turnstile serve` and `turnstile demo` take it.
    public static let patientArguments = ["--store-timeout", "30s"]
}
