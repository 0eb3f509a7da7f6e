extension Duration {
    /// The duration in seconds, with its fraction: 0.5 for 500 ms.
    public var secondsWithFraction: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
