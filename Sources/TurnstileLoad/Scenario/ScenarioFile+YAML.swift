import Foundation
import NIOCore
import NIOHTTP1
import SwiftCSV
import TurnstileReport
import Yams

extension ScenarioFile {
    /// Reads and checks a scenario from YAML (or JSON, which YAML reads too). `file` names it in messages; CSV files
    /// it names are read relative to `folder`.
    public init(yaml text: String, file: String, folder: URL? = nil) throws(ScenarioError) {
        guard text.utf8.count <= LoadLimits.scenarioFileBytesMax else {
            throw ScenarioError(
                "\(file): the file is larger than \(LoadLimits.scenarioFileBytesMax / 1024) KiB; a scenario is a page "
                    + "of YAML (put bulk data in a CSV file of users)")
        }
        try YAMLScreen.check(text, file: file)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw ScenarioError("the file is empty", at: nil) }
            root = node
        } catch let error as ScenarioError {
            throw ScenarioError("\(file): \(error.message)")
        } catch let error as YamlError {
            throw Self.describe(error, file: file)
        } catch {
            throw ScenarioError("\(file): \(error)")
        }
        let reader = YAMLReader(file: file, folder: folder)
        self = try reader.scenario(root)
        self.folder = folder
        self.text = text
        try ScenarioChecker(self).check()
    }

    /// Reads a scenario file from disk; messages name it `path` (as the user wrote it) unless told otherwise.
    public init(contentsOf url: URL, name: String? = nil) throws(ScenarioError) {
        let file = name ?? url.path
        let text = try Self.readText(url, name: file, bytesMax: LoadLimits.scenarioFileBytesMax)
        try self.init(yaml: text, file: file, folder: url.deletingLastPathComponent())
    }

    /// Reads a file as UTF-8, but never more than `bytesMax` bytes of it: a larger file (or `/dev/zero`, or a pipe
    /// that never ends) is refused with its name, not read into memory.
    static func readText(_ url: URL, name: String, bytesMax: Int) throws(ScenarioError) -> String {
        guard let text = String(data: try readBytes(url, name: name, bytesMax: bytesMax), encoding: .utf8) else {
            throw ScenarioError("\(name) is not UTF-8 text")
        }
        return text
    }

    /// The file's bytes; more than `bytesMax` is an error, found without reading past it.
    static func readBytes(_ url: URL, name: String, bytesMax: Int) throws(ScenarioError) -> Data {
        let bytes: Data
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            bytes = try handle.read(upToCount: bytesMax + 1) ?? Data()
        } catch {
            throw ScenarioError("cannot read \(name): \(error.localizedDescription)")
        }
        guard bytes.count <= bytesMax else {
            throw ScenarioError("\(name) is larger than \(bytesMax / 1024) KiB, the most a scenario reads")
        }
        return bytes
    }

    private static func describe(_ error: YamlError, file: String) -> ScenarioError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return ScenarioError(
                "not valid YAML: \(problem)",
                at: SourcePosition(
                    file: file, line: mark.line,
                    column: mark.column))
        case .composer(_, let problem, let mark, _):
            return ScenarioError(
                "not valid YAML: \(problem)",
                at: SourcePosition(
                    file: file, line: mark.line,
                    column: mark.column))
        default:
            return ScenarioError("\(file): not valid YAML: \(error)")
        }
    }
}

/// Walks a YAML document into a ``ScenarioFile``, refusing any key it does not know with the key's position.
struct YAMLReader {
    let file: String
    let folder: URL?

    func position(_ node: Node) -> SourcePosition {
        SourcePosition(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
    }

    /// Where a scalar's text starts: after its opening quote, if it has one.
    func contentPosition(_ node: Node) -> SourcePosition {
        let start = position(node)
        if case .scalar(let scalar) = node, scalar.style == .singleQuoted || scalar.style == .doubleQuoted {
            return start.advanced(by: 1)
        }
        return start
    }

    func error(_ message: String, _ node: Node) -> ScenarioError {
        ScenarioError(message, at: position(node))
    }

    // MARK: Shapes

    func mapping(_ node: Node, _ what: String, keys: [String]) throws(ScenarioError) -> Mapping {
        guard case .mapping(let mapping) = node else { throw error("\(what) must be a mapping of keys", node) }
        var entries: [(key: String, keyNode: Node, value: Node)] = []
        for (key, value) in mapping {
            guard let name = key.string else { throw error("a key must be text", key) }
            guard keys.contains(name) else {
                let hint = EditDistance.nearest(to: name, among: keys).map { " (did you mean '\($0)'?)" } ?? ""
                throw error(
                    "unknown key '\(name)' in \(what)\(hint); its keys are \(keys.joined(separator: ", "))", key)
            }
            entries.append((name, key, value))
        }
        return Mapping(node: node, entries: entries)
    }

    struct Mapping {
        let node: Node
        let entries: [(key: String, keyNode: Node, value: Node)]
        subscript(key: String) -> Node? { entries.first { $0.key == key }?.value }
        func has(_ key: String) -> Bool { self[key] != nil }
    }

    func sequence(_ node: Node, _ what: String) throws(ScenarioError) -> [Node] {
        guard case .sequence(let sequence) = node else { throw error("\(what) must be a list", node) }
        return Array(sequence)
    }

    func string(_ node: Node, _ what: String) throws(ScenarioError) -> String {
        guard case .scalar(let scalar) = node else { throw error("\(what) must be a single value", node) }
        return scalar.string
    }

    func template(_ node: Node, _ what: String) throws(ScenarioError) -> ScenarioTemplate {
        try ScenarioTemplate(try string(node, what), at: contentPosition(node))
    }

    /// A count or rate: a number, an expression (`users * 2`), or one `${…}`.
    func expression(_ node: Node, _ what: String) throws(ScenarioError) -> ScenarioExpression {
        let text = try string(node, what)
        let start = contentPosition(node)
        let template = try ScenarioTemplate(text, at: start)
        if template.parts.count == 1, case .expression(let expression) = template.parts[0] { return expression }
        return try ScenarioExpression(text, at: start)
    }

    func value(_ node: Node) throws(ScenarioError) -> ScenarioValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if let number = Int(scalar.string) { return .int(number) }
                if let number = node.float, scalar.string.contains(".") { return .double(number) }
                if let truth = node.bool { return .bool(truth) }
                if node.null != nil { return .null }
            }
            return .string(scalar.string)
        case .sequence(let sequence):
            return .list(try sequence.map { item throws(ScenarioError) in try value(item) })
        case .mapping(let mapping):
            var fields: [String: ScenarioValue] = [:]
            for (key, item) in mapping { fields[try string(key, "a key")] = try value(item) }
            return .object(fields)
        case .alias:
            throw error("aliases are not supported", node)
        }
    }

    func duration(_ node: Node, _ what: String) throws(ScenarioError) -> ScenarioTemplate {
        let template = try template(node, what)
        if let literal = template.literal, TimeAmount(parsing: literal) == nil {
            throw error("\(what) '\(literal)' must be a time with a unit: 500ms, 10s, 2m", node)
        }
        return template
    }

    func statuses(_ node: Node, _ what: String) throws(ScenarioError) -> StatusSet {
        let text: String
        switch node {
        case .sequence(let items):
            text = try items.map { item throws(ScenarioError) in try string(item, what) }.joined(separator: ",")
        default:
            text = try string(node, what)
        }
        do { return try StatusSet(parsing: text) } catch { throw self.error("\(what): \(error)", node) }
    }

    // MARK: The file

    func scenario(_ node: Node) throws(ScenarioError) -> ScenarioFile {
        let top = try mapping(
            node, "the scenario",
            keys: [
                "name", "description", "vars", "users", "setup", "phases", "readback", "invariants", "thresholds",
                "notes", "processes", "proxies", "faults", "requires", "subscribers",
            ])
        guard let phasesNode = top["phases"] else { throw error("a scenario needs 'phases'", node) }
        var variables: [ScenarioFile.Variable] = []
        if let vars = top["vars"] {
            guard case .mapping(let mapping) = vars else { throw error("'vars' must map names to values", vars) }
            for (key, item) in mapping {
                let name = try string(key, "a variable's name")
                guard Self.isName(name) else {
                    throw error("'\(name)' is not a name: letters, digits and '_', not starting with a digit", key)
                }
                variables.append(.init(name: name, value: try value(item), position: position(key)))
            }
        }
        let phases = try sequence(phasesNode, "'phases'").map { item throws(ScenarioError) in try phase(item) }
        guard !phases.isEmpty else { throw error("'phases' needs at least one phase", phasesNode) }
        let processes = try top["processes"].map { node throws(ScenarioError) in try self.processes(node) } ?? []
        let proxies = try top["proxies"].map { node throws(ScenarioError) in try self.proxies(node) } ?? []
        return ScenarioFile(
            name: try top["name"].map { node throws(ScenarioError) in try string(node, "'name'") }
                ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent,
            summary: try top["description"].map { node throws(ScenarioError) in try string(node, "'description'") },
            variables: variables,
            users: try top["users"].map { node throws(ScenarioError) in try users(node) }
                ?? ScenarioFile.Users(count: nil, accounts: nil, provision: [], headers: []),
            setup: try requests(top["setup"], "'setup'"),
            phases: phases,
            readback: try requests(top["readback"], "'readback'", readback: true),
            invariants: try top["invariants"].map { node throws(ScenarioError) in
                try sequence(node, "'invariants'").map { item throws(ScenarioError) in try invariant(item) }
            } ?? [],
            requirements: try top["requires"].map { node throws(ScenarioError) in
                try sequence(node, "'requires'").map { item throws(ScenarioError) in try invariant(item) }
            } ?? [],
            thresholds: try top["thresholds"].map { node throws(ScenarioError) in
                try sequence(node, "'thresholds'").map { item throws(ScenarioError) in
                    let text = try string(item, "a threshold")
                    do { _ = try Threshold(parsing: text) } catch { throw self.error("\(error)", item) }
                    return text
                }
            } ?? [],
            notes: try top["notes"].map { node throws(ScenarioError) in
                try sequence(node, "'notes'").map { item throws(ScenarioError) in try template(item, "a note") }
            } ?? [],
            processes: processes,
            proxies: proxies,
            faults: try top["faults"].map { node throws(ScenarioError) in
                try faults(node, phases: phases, processes: processes, proxies: proxies)
            } ?? [],
            subscribers: try top["subscribers"].map { node throws(ScenarioError) in try subscribers(node) } ?? [],
            file: file)
    }

    private func users(_ node: Node) throws(ScenarioError) -> ScenarioFile.Users {
        let map = try mapping(node, "'users'", keys: ["count", "csv", "provision", "headers"])
        return ScenarioFile.Users(
            count: try map["count"].map { node throws(ScenarioError) in try expression(node, "'count'") },
            accounts: try map["csv"].map { node throws(ScenarioError) in try accounts(node) },
            provision: try requests(map["provision"], "'provision'"),
            headers: try headers(map["headers"]))
    }

    /// A file the scenario names, under its folder. A file from a pull request names the files it reads: only its
    /// own folder's, never `/root/.env` or `../../secrets.csv`, whose contents it could otherwise send to the target.
    private func fileBeside(_ node: Node, _ key: String) throws(ScenarioError) -> (path: String, url: URL) {
        let path = try string(node, "'\(key)'")
        guard !path.hasPrefix("/"), !path.hasPrefix("~"), !path.split(separator: "/").contains("..") else {
            throw error("'\(key)' names a file beside the scenario or below its folder, not \(path)", node)
        }
        return (path, (folder ?? URL(fileURLWithPath: ".")).appendingPathComponent(path))
    }

    private func accounts(_ node: Node) throws(ScenarioError) -> ScenarioFile.Accounts {
        let (path, url) = try fileBeside(node, "csv")
        let text: String
        do { text = try ScenarioFile.readText(url, name: path, bytesMax: LoadLimits.scenarioCSVBytesMax) } catch {
            throw self.error(error.message, node)
        }
        let csv: NamedCSV
        do {
            csv = try NamedCSV(string: text, loadColumns: false)
        } catch let error as CSVParseError {
            throw self.error("\(path) is not valid CSV: \(error)", node)
        } catch {
            throw self.error("cannot read \(url.path): \(error.localizedDescription)", node)
        }
        for column in csv.header where !Self.isName(column) {
            throw self.error("\(path): column '\(column)' is not a name (letters, digits and '_')", node)
        }
        guard !csv.rows.isEmpty else { throw self.error("\(path) has a header but no rows", node) }
        return ScenarioFile.Accounts(path: path, columns: csv.header, rows: csv.rows, position: position(node))
    }

    func headers(_ node: Node?) throws(ScenarioError) -> [ScenarioFile.Header] {
        guard let node else { return [] }
        guard case .mapping(let mapping) = node else { throw error("'headers' must map names to values", node) }
        var headers: [ScenarioFile.Header] = []
        for (key, value) in mapping {
            headers.append(.init(name: try string(key, "a header's name"), value: try template(value, "a header")))
        }
        return headers
    }

    private func requests(
        _ node: Node?, _ what: String, readback: Bool = false
    ) throws(ScenarioError)
        -> [ScenarioFile.Request]
    {
        guard let node else { return [] }
        return try sequence(node, what).map { item throws(ScenarioError) in try request(item, readback: readback) }
    }

    private static let requestKeys = [
        "name", "method", "path", "headers", "body", "raw", "form", "file", "expect", "outcomes", "capture", "let",
        "when", "publishes", "retry",
    ]

    func request(_ node: Node, readback: Bool = false) throws(ScenarioError) -> ScenarioFile.Request {
        let map = try mapping(node, "a request", keys: Self.requestKeys + (readback ? ["per_user"] : []))
        guard let pathNode = map["path"] else { throw error("a request needs a 'path'", node) }
        let methodText = try map["method"].map { node throws(ScenarioError) in try string(node, "'method'") } ?? "GET"
        let method = HTTPMethod(rawValue: methodText.uppercased())
        if case .RAW = method { throw error("'\(methodText)' is not an HTTP method", map["method"]!) }
        var outcomes: [ScenarioFile.Outcome] = []
        if let node = map["outcomes"] {
            guard case .mapping(let mapping) = node else { throw error("'outcomes' must map names to statuses", node) }
            for (key, value) in mapping {
                let name = try string(key, "an outcome's name")
                guard Self.isName(name), !OutcomeCounts.builtIn.contains(name) else {
                    throw error("'\(name)' cannot name an outcome (answered, unanswered and other are built in)", key)
                }
                outcomes.append(try outcome(name, value))
            }
        }
        // Without `expect`, the named outcomes are what is expected; without either, every 2xx.
        let expected =
            try map["expect"].map { node throws(ScenarioError) in try statuses(node, "'expect'") }
            ?? (outcomes.isEmpty ? .success : StatusSet(ranges: outcomes.flatMap(\.statuses.ranges)))
        var captures: [ScenarioFile.Capture] = []
        if let node = map["capture"] {
            guard case .mapping(let mapping) = node else { throw error("'capture' must map names to paths", node) }
            for (key, value) in mapping {
                let name = try string(key, "a capture's name")
                guard Self.isName(name) else { throw error("'\(name)' is not a name", key) }
                captures.append(
                    try .init(name: name, path: try template(value, "a capture's path"), position: position(key)))
            }
        }
        var lets: [(name: String, expression: ScenarioExpression)] = []
        if let node = map["let"] {
            guard case .mapping(let mapping) = node else { throw error("'let' must map names to expressions", node) }
            for (key, value) in mapping {
                let name = try string(key, "a name")
                guard Self.isName(name) else { throw error("'\(name)' is not a name", key) }
                lets.append((name, try expression(value, "'\(name)'")))
            }
        }
        let path = try template(pathNode, "'path'")
        let name = try map["name"].map { node throws(ScenarioError) in try template(node, "'name'") }
        let (headers, dropped) = try requestHeaders(map["headers"])
        return ScenarioFile.Request(
            name: try name.orDefault("\(method.rawValue) \(path.text)", at: path.origin),
            method: method, path: path, headers: headers, droppedHeaders: dropped, payload: try payload(map),
            expected: expected, outcomes: outcomes, captures: captures, lets: lets,
            when: try map["when"].map { node throws(ScenarioError) in try expression(node, "'when'") },
            publishes: try map["publishes"].map { node throws(ScenarioError) in try publication(node) },
            retry: try map["retry"].map { node throws(ScenarioError) in try flag(node, "'retry'") } ?? false,
            perUser: try map["per_user"].map { node throws(ScenarioError) in try flag(node, "'per_user'") } ?? false,
            position: position(node))
    }

    /// An outcome: statuses (`409`, `[409, 429]`, `4xx`), or a mapping of `status` and at most one of `contains`
    /// (text the body holds) and `where` (an expression on the body's JSON, read as `body`).
    private func outcome(_ name: String, _ node: Node) throws(ScenarioError) -> ScenarioFile.Outcome {
        guard case .mapping = node else {
            return ScenarioFile.Outcome(name: name, statuses: try statuses(node, "outcome '\(name)'"), body: nil)
        }
        let map = try mapping(node, "outcome '\(name)'", keys: ["status", "contains", "where"])
        guard let statusNode = map["status"] else { throw error("outcome '\(name)' needs a 'status'", node) }
        var body: ScenarioFile.BodyMatch?
        switch (map["contains"], map["where"]) {
        case (let text?, nil):
            let text = try string(text, "'contains'")
            guard !text.isEmpty else { throw error("'contains' needs some text", map["contains"]!) }
            body = .contains(text)
        case (nil, let check?):
            let check = try expression(check, "'where'")
            if let name = check.names.first(where: { !AnswerScope.names.contains($0.name[0]) }) {
                throw ScenarioError(
                    "'where' reads the answer's JSON as 'body' (body.code == 'sold_out'), not '\(name.name[0])'",
                    at: name.position)
            }
            body = .json(check)
        case (nil, nil): break
        case (_?, _?): throw error("outcome '\(name)' matches by 'contains' or by 'where', not both", node)
        }
        return ScenarioFile.Outcome(name: name, statuses: try statuses(statusNode, "outcome '\(name)'"), body: body)
    }

    /// What a request publishes: an expression on what it is sent with, or one on its answer's JSON (`body`), which
    /// then reads nothing else.
    private func publication(_ node: Node) throws(ScenarioError) -> ScenarioExpression {
        let expression = try expression(node, "'publishes'")
        let names = expression.names
        if names.contains(where: { $0.name[0] == "body" }),
            let other = names.first(where: { !AnswerScope.names.contains($0.name[0]) })
        {
            throw ScenarioError(
                "'publishes' reads either the answer (body.…) or what the request is sent with, not both: "
                    + "'\(other.name[0])'", at: other.position)
        }
        return expression
    }

    /// A request's headers; one written `null` is dropped from those its user carries (no `Authorization`).
    private func requestHeaders(
        _ node: Node?
    ) throws(ScenarioError) -> (headers: [ScenarioFile.Header], dropped: [String]) {
        guard let node, case .mapping(let mapping) = node else { return (try headers(node), []) }
        var headers: [ScenarioFile.Header] = []
        var dropped: [String] = []
        for (key, value) in mapping {
            let name = try string(key, "a header's name")
            if case .scalar(let scalar) = value, scalar.style == .plain, value.null != nil {
                dropped.append(name)
            } else {
                headers.append(.init(name: name, value: try template(value, "a header")))
            }
        }
        return (headers, dropped)
    }

    /// What a request sends: JSON (`body`), text as it is (`raw`), a form (`form`), or a file's bytes (`file`).
    private func payload(_ map: Mapping) throws(ScenarioError) -> ScenarioFile.Payload? {
        let given = ["body", "raw", "form", "file"].filter(map.has)
        guard let key = given.first else { return nil }
        let node = map[key]!
        if given.count > 1 {
            throw error(
                "a request sends one of 'body', 'raw', 'form' and 'file', not '\(given[0])' and '\(given[1])'", node)
        }
        switch key {
        case "body":
            return .json(try body(node))
        case "raw":
            return .text(try template(node, "'raw'"))
        case "form":
            guard case .mapping(let mapping) = node else { throw error("'form' must map names to values", node) }
            var fields: [(String, ScenarioTemplate)] = []
            for (name, value) in mapping {
                fields.append((try string(name, "a form field's name"), try template(value, "a form value")))
            }
            return .form(fields)
        default:
            let (path, url) = try fileBeside(node, "file")
            let bytes: Data
            do { bytes = try ScenarioFile.readBytes(url, name: path, bytesMax: LoadLimits.requestBodyBytesMax) } catch {
                throw self.error(error.message, node)
            }
            return .file(path: path, bytes: ByteBuffer(bytes: bytes))
        }
    }

    private func flag(_ node: Node, _ what: String) throws(ScenarioError) -> Bool {
        guard let value = node.bool else { throw error("\(what) must be true or false", node) }
        return value
    }

    private func body(_ node: Node) throws(ScenarioError) -> ScenarioFile.Body {
        switch node {
        case .scalar:
            // A number, boolean or null as written is that value; text may hold templates.
            let value = try value(node)
            guard case .string = value else { return .value(value) }
            let template = try template(node, "a body value")
            return template.literal.map { .value(.string($0)) } ?? .template(template)
        case .sequence(let sequence):
            return .list(try sequence.map { item throws(ScenarioError) in try body(item) })
        case .mapping(let mapping):
            var fields: [(String, ScenarioFile.Body)] = []
            for (key, item) in mapping { fields.append((try string(key, "a key"), try body(item))) }
            return .object(fields)
        case .alias:
            throw error("aliases are not supported", node)
        }
    }

    private static let phaseKeys = [
        "name", "executor", "users", "request", "steps", "tasks", "rounds", "each", "duration", "think", "rate",
        "rate_end", "connections", "stages", "stop", "probe", "body_limit", "timeout", "openapi",
    ]

    /// The keys each executor reads, besides `name`, `executor`, `request` and `steps`; the others of
    /// ``phaseKeys`` do not apply to it.
    private static let executorKeys: [String: Set<String>] = [
        "barrier": ["users", "rounds", "each", "think"],
        "closed": ["users", "tasks", "duration", "think"],
        "open": ["tasks", "rate", "rate_end", "duration", "connections"],
        "ramp": ["tasks", "stages", "stop"],
        "bad_input": ["probe", "body_limit", "timeout", "openapi"],
    ]

    private func phase(_ node: Node) throws(ScenarioError) -> ScenarioFile.Phase {
        let map = try mapping(node, "a phase", keys: Self.phaseKeys)
        guard let executorNode = map["executor"] else {
            throw error("a phase needs an 'executor': barrier, closed, open or ramp", node)
        }
        let executorName = try string(executorNode, "'executor'")
        func require(_ key: String) throws(ScenarioError) -> Node {
            guard let value = map[key] else { throw error("a \(executorName) phase needs '\(key)'", node) }
            return value
        }
        if let applies = Self.executorKeys[executorName],
            let entry = map.entries.first(where: {
                !["name", "executor", "request", "steps"].contains($0.key) && !applies.contains($0.key)
            })
        {
            throw error("'\(entry.key)' does not apply to a \(executorName) phase", entry.keyNode)
        }
        let executor: ScenarioFile.Executor
        switch executorName {
        case "barrier":
            executor = .barrier(
                rounds: try map["rounds"].map { node throws(ScenarioError) in try expression(node, "'rounds'") },
                each: try map["each"].map { node throws(ScenarioError) in try expression(node, "'each'") },
                think: try map["think"].map { node throws(ScenarioError) in try duration(node, "'think'") })
        case "closed":
            executor = .closed(
                duration: try duration(try require("duration"), "'duration'"),
                think: try map["think"].map { node throws(ScenarioError) in try duration(node, "'think'") })
        case "open":
            executor = .open(
                rate: try expression(try require("rate"), "'rate'"),
                rateEnd: try map["rate_end"].map { node throws(ScenarioError) in try expression(node, "'rate_end'") },
                duration: try duration(try require("duration"), "'duration'"),
                connections: try map["connections"].map { node throws(ScenarioError) in
                    try expression(node, "'connections'")
                })
        case "ramp":
            executor = .ramp(
                stages: try sequence(try require("stages"), "'stages'").map { stage throws(ScenarioError) in
                    let stageMap = try mapping(stage, "a stage", keys: ["users", "duration"])
                    guard let users = stageMap["users"], let duration = stageMap["duration"] else {
                        throw error("a stage needs 'users' and 'duration'", stage)
                    }
                    return (try expression(users, "'users'"), try self.duration(duration, "'duration'"))
                },
                stop: try map["stop"].map { node throws(ScenarioError) in try expression(node, "'stop'") })
        case "bad_input":
            executor = .badInput(
                .init(
                    probe: try map["probe"].map { node throws(ScenarioError) in try template(node, "'probe'") },
                    bodyLimit: try map["body_limit"].map { node throws(ScenarioError) in
                        try byteCount(node, "'body_limit'")
                    },
                    timeout: try map["timeout"].map { node throws(ScenarioError) in try duration(node, "'timeout'") },
                    openAPI: try map["openapi"].map { node throws(ScenarioError) in try openAPI(node) }))
        default:
            throw error("unknown executor '\(executorName)': barrier, closed, open, ramp or bad_input", executorNode)
        }
        let given = ["request", "steps", "tasks"].filter(map.has)
        // A bad-input phase without requests of its own makes its inputs from the scenario's.
        guard given.count == 1 || (given.isEmpty && executorName == "bad_input") else {
            throw error("a phase needs exactly one of 'request', 'steps' or 'tasks'", node)
        }
        let tasks: [ScenarioFile.Task]
        if given.isEmpty {
            tasks = []
        } else if let request = map["request"] {
            tasks = [.init(weight: 1, steps: [try self.request(request)], think: .zero)]
        } else if let steps = map["steps"] {
            tasks = [.init(weight: 1, steps: try self.steps(steps), think: .zero)]
        } else {
            tasks = try sequence(map["tasks"]!, "'tasks'").map { item throws(ScenarioError) in try task(item) }
        }
        let name = try map["name"].map { node throws(ScenarioError) in try template(node, "'name'") }
        return ScenarioFile.Phase(
            name: try name.orDefault(executorName, at: position(node)),
            executor: executor, tasks: tasks,
            users: try map["users"].map { node throws(ScenarioError) in try expression(node, "'users'") },
            position: position(node))
    }

    /// A size in bytes: a whole number, or one with a unit (`512KiB`, `1MiB`, `64KB`).
    /// `openapi: /openapi.json` (a path on the target) or `{path: …, parameters: {id: "${event_id}"}}`, or
    /// `{file: api.yaml, …}` (beside the scenario, read now).
    private func openAPI(_ node: Node) throws(ScenarioError) -> ScenarioFile.OpenAPISource {
        if case .scalar = node {
            return .init(document: .target(try openAPIPath(node)), parameters: [])
        }
        let map = try mapping(node, "'openapi'", keys: ["path", "file", "parameters"])
        let document: ScenarioFile.OpenAPISource.Document
        switch (map["path"], map["file"]) {
        case (let path?, nil):
            document = .target(try openAPIPath(path))
        case (nil, let file?):
            let (path, url) = try fileBeside(file, "file")
            do {
                let bytes = try ScenarioFile.readBytes(url, name: path, bytesMax: LoadLimits.openAPIDocumentBytesMax)
                document = .file(path: path, try OpenAPIBadInputs(bytes: bytes, name: path))
            } catch {
                throw self.error(error.message, file)
            }
        default:
            throw error("'openapi' needs one of 'path' (on the target) or 'file' (beside the scenario)", node)
        }
        var parameters: [(name: String, value: ScenarioTemplate)] = []
        if let node = map["parameters"] {
            guard case .mapping(let mapping) = node else {
                throw error("'parameters' must map path parameters' names to values", node)
            }
            for (key, value) in mapping {
                parameters.append((try string(key, "a parameter's name"), try template(value, "a parameter's value")))
            }
        }
        return .init(document: document, parameters: parameters)
    }

    private func openAPIPath(_ node: Node) throws(ScenarioError) -> ScenarioTemplate {
        let path = try template(node, "'openapi'")
        guard path.text.hasPrefix("/") else {
            throw error("'openapi' is a path on the target, like /openapi.json; a file is {file: api.yaml}", node)
        }
        return path
    }

    private func byteCount(_ node: Node, _ what: String) throws(ScenarioError) -> Int {
        let text = try string(node, what).replacingOccurrences(of: " ", with: "")
        for (unit, factor) in [
            ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("MB", 1_000_000), ("KB", 1_000), ("B", 1), ("", 1),
        ]
        where text.hasSuffix(unit) {
            if let number = Int(text.dropLast(unit.count)), number > 0,
                number <= LoadLimits.requestBodyBytesMax / factor
            {
                return number * factor
            }
            break
        }
        throw error("\(what) must be a size up to 16 MiB, e.g. 1MiB or 65536", node)
    }

    private func steps(_ node: Node) throws(ScenarioError) -> [ScenarioFile.Request] {
        let steps = try sequence(node, "'steps'").map { item throws(ScenarioError) in try request(item) }
        guard !steps.isEmpty else { throw error("'steps' needs at least one request", node) }
        return steps
    }

    private func task(_ node: Node) throws(ScenarioError) -> ScenarioFile.Task {
        let map = try mapping(node, "a task", keys: ["weight", "request", "steps", "think"])
        let weight =
            try map["weight"].map { node throws(ScenarioError) in
                guard let weight = node.int, weight >= 1 else {
                    throw error("'weight' must be a whole number ≥ 1", node)
                }
                return weight
            } ?? 1
        let think =
            try map["think"].map { node throws(ScenarioError) in
                let text = try string(node, "'think'")
                guard let time = TimeAmount(parsing: text) else {
                    throw error("'think' must be a time with a unit: 100ms, 1s", node)
                }
                return time
            } ?? .zero
        if let request = map["request"], !map.has("steps") {
            return .init(weight: weight, steps: [try self.request(request)], think: think)
        }
        guard let steps = map["steps"], !map.has("request") else {
            throw error("a task needs exactly one of 'request' or 'steps'", node)
        }
        return .init(weight: weight, steps: try self.steps(steps), think: think)
    }

    private func invariant(_ node: Node) throws(ScenarioError) -> ScenarioFile.Invariant {
        let map = try mapping(node, "an invariant", keys: ["name", "check", "when", "phase"])
        guard let check = map["check"] else {
            throw error("an invariant needs 'check': the expression that must hold", node)
        }
        let expression = try expression(check, "'check'")
        let name = try map["name"].map { node throws(ScenarioError) in try template(node, "'name'") }
        return ScenarioFile.Invariant(
            name: try name.orDefault(
                expression.text.replacingOccurrences(of: "${", with: "$${"), at: expression.origin),
            check: expression,
            when: try map["when"].map { node throws(ScenarioError) in try self.expression(node, "'when'") },
            phase: try map["phase"].map { node throws(ScenarioError) in try template(node, "'phase'") })
    }

    static func isName(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }
}

extension ScenarioTemplate? {
    /// The template, or one made of `text` when there is none.
    func orDefault(_ text: String, at position: SourcePosition) throws(ScenarioError) -> ScenarioTemplate {
        if let self { return self }
        return try ScenarioTemplate(text, at: position)
    }
}
