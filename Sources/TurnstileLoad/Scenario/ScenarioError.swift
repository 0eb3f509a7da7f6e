/// A place in a scenario file: shown as `file:line:column` in front of every error about it.
public struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    /// The position `offset` characters further along the same line.
    func advanced(by offset: Int) -> SourcePosition {
        SourcePosition(file: file, line: line, column: column + offset)
    }
}

/// A mistake in a scenario file, or a request of the scenario the target did not answer as the file says: one line,
/// with the file position or the failing request, for the user to fix. Ends the run with exit code 3.
public struct ScenarioError: Error, CustomStringConvertible, Equatable {
    public let position: SourcePosition?
    public let message: String

    public init(_ message: String, at position: SourcePosition? = nil) {
        self.position = position
        self.message = message
    }

    public var description: String {
        guard let position else { return message }
        return "\(position): \(message)"
    }
}
