import CYaml

/// Reads a scenario file's YAML as libyaml's events, before anything builds a tree of it, and refuses what could make
/// the tree grow past the text: anchors and aliases (a 654-byte "billion laughs" file, or a merge-key bomb, expands to
/// gigabytes once its aliases are followed), more than ``LoadLimits/scenarioYAMLNodesMax`` values, or nesting deeper
/// than ``LoadLimits/scenarioYAMLDepthMax`` (the tree's builders recurse once per level).
///
/// Scenario files come from pull requests: this is their budget before they have a parser. The screen itself keeps
/// nothing but two counters, so it costs time linear in the text and constant memory.
enum YAMLScreen {
    /// Throws the first thing in `text` over budget, at its position in `file`; says nothing about YAML syntax,
    /// which the parser after it reports in full.
    static func check(_ text: String, file: String) throws(ScenarioError) {
        var utf8 = Array(text.utf8)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw ScenarioError("\(file): cannot start the YAML reader") }
        defer { yaml_parser_delete(&parser) }
        var nodes = 0
        var depth = 0
        try utf8.withUnsafeMutableBufferPointer { (bytes) throws(ScenarioError) in
            yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    // libyaml's scanner reads a flow collection's brackets ahead of its events, and stops at its own
                    // nesting bound (1,000) before the screen sees them: the same mistake, said the same way.
                    if let problem = parser.problem, String(cString: problem).contains("nesting level") {
                        let mark = parser.problem_mark
                        throw ScenarioError(
                            Self.nestedTooDeep,
                            at: SourcePosition(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1))
                    }
                    // Any other syntax error is the composer's to describe, with its context.
                    return
                }
                defer { yaml_event_delete(&event) }
                let position = SourcePosition(
                    file: file, line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return
                case YAML_ALIAS_EVENT:
                    throw ScenarioError(Self.aliasesRefused, at: position)
                case YAML_SCALAR_EVENT, YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    if Self.anchor(of: event) != nil { throw ScenarioError(Self.aliasesRefused, at: position) }
                    nodes += 1
                    guard nodes <= LoadLimits.scenarioYAMLNodesMax else {
                        throw ScenarioError(
                            "the file has more than \(LoadLimits.scenarioYAMLNodesMax) values; a scenario needs far "
                                + "fewer (put bulk data in a CSV file of users)", at: position)
                    }
                    guard event.type != YAML_SCALAR_EVENT else { break }
                    depth += 1
                    guard depth <= LoadLimits.scenarioYAMLDepthMax else {
                        throw ScenarioError(Self.nestedTooDeep, at: position)
                    }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                default:
                    break
                }
            }
        }
    }

    private static let nestedTooDeep = "lists and mappings nest more than \(LoadLimits.scenarioYAMLDepthMax) deep here"

    private static let aliasesRefused =
        "anchors and aliases (&name, *name, <<: *name) are not supported in scenario files: write the value out, or "
        + "make it a variable under 'vars'"

    private static func anchor(of event: yaml_event_t) -> UnsafeMutablePointer<yaml_char_t>? {
        switch event.type {
        case YAML_SCALAR_EVENT: event.data.scalar.anchor
        case YAML_SEQUENCE_START_EVENT: event.data.sequence_start.anchor
        case YAML_MAPPING_START_EVENT: event.data.mapping_start.anchor
        default: nil
        }
    }
}
