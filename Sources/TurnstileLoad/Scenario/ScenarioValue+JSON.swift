/// A JSON reader straight into ``ScenarioValue``: captures parse every answer they read, in the hot loop of a
/// closed phase, and a generic `Decodable` round trip costs several times this.
extension ScenarioValue {
    /// Parses `bytes` as one JSON value (RFC 8259); nil when they are not JSON.
    public init?(jsonBytes bytes: some Collection<UInt8>) {
        let parsed: ScenarioValue? =
            bytes.withContiguousStorageIfAvailable { buffer in
                var reader = JSONReader(buffer)
                return reader.document()
            }
            ?? {
                let copy = Array(bytes)
                return copy.withUnsafeBufferPointer { buffer in
                    var reader = JSONReader(buffer)
                    return reader.document()
                }
            }()
        guard let parsed else { return nil }
        self = parsed
    }
}

/// A recursive-descent JSON reader over a buffer; nesting is bounded so a hostile answer cannot exhaust the stack.
struct JSONReader {
    private static let depthMax = LoadLimits.answerJSONDepthMax

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Follows `steps` (fields and elements only), skipping every value off the path.
    mutating func select(_ steps: [JSONPath.Step]) -> JSONPath.Selection {
        for step in steps {
            skipSpace()
            guard index < bytes.count else { return .notJSON }
            switch step {
            case .field(let name):
                guard bytes[index] == UInt8(ascii: "{") else { return skip() ? .missing : .notJSON }
                guard let found = seekField(name) else { return .notJSON }
                if !found { return .missing }
            case .element(let position):
                guard bytes[index] == UInt8(ascii: "[") else { return skip() ? .missing : .notJSON }
                guard let found = seekElement(position) else { return .notJSON }
                if !found { return .missing }
            case .every, .filter:
                preconditionFailure("only a definite path selects one value")
            }
        }
        guard let value = value() else { return .notJSON }
        return .found(value)
    }

    /// Moves to the value of field `name` of the object here: true when found, false when the object has no such
    /// field, nil when the text is not JSON.
    private mutating func seekField(_ name: String) -> Bool? {
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { return false }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let keyStart = index + 1
            var escaped = false
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\") {
                    escaped = true
                    index += 1
                }
                index += 1
            }
            guard index < bytes.count else { return nil }
            let keyBytes = UnsafeBufferPointer(rebasing: bytes[keyStart..<index])
            index += 1
            // A key with escapes in it is compared as text; any other byte for byte.
            let matches =
                escaped
                ? {
                    var copy = JSONReader(UnsafeBufferPointer(rebasing: bytes[(keyStart - 1)..<index]))
                    return copy.string() == name
                }() : keyBytes.elementsEqual(name.utf8)
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipSpace()
            if matches { return true }
            guard skip() else { return nil }
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "}") {
                return false
            } else {
                return nil
            }
        }
    }

    /// Moves to element `position` of the list here; as ``seekField(_:)``.
    private mutating func seekElement(_ position: Int) -> Bool? {
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { return false }
        var current = 0
        while true {
            skipSpace()
            if current == position { return true }
            guard skip() else { return nil }
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                current += 1
            } else if bytes[index] == UInt8(ascii: "]") {
                return false
            } else {
                return nil
            }
        }
    }

    /// Steps over one value without building it; false when the text is not JSON.
    private mutating func skip() -> Bool {
        skipSpace()
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard index < bytes.count else { return false }
            index += 1
            return true
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            // Brackets balance outside strings; the contents are not checked.
            var depth = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    guard skip() else { return false }
                    continue
                }
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 }
                if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return true
                    }
                }
                index += 1
            }
            return false
        default:
            return value() != nil
        }
    }

    mutating func document() -> ScenarioValue? {
        guard let value = value() else { return nil }
        skipSpace()
        return index == bytes.count ? value : nil
    }

    private mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    private mutating func value() -> ScenarioValue? {
        skipSpace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return list()
        case UInt8(ascii: "\""): return string().map { .string($0) }
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return number()
        }
    }

    private mutating func literal(_ text: StaticString, _ value: ScenarioValue) -> ScenarioValue? {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return nil }
        for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return nil }
        index += count
        return value
    }

    private mutating func object() -> ScenarioValue? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.depthMax else { return nil }
        index += 1
        var fields: [String: ScenarioValue] = [:]
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(fields)
        }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let value = value() else { return nil }
            fields[key] = value
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(fields)
            } else {
                return nil
            }
        }
    }

    private mutating func list() -> ScenarioValue? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.depthMax else { return nil }
        index += 1
        var items: [ScenarioValue] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .list(items)
        }
        while true {
            guard let item = value() else { return nil }
            items.append(item)
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .list(items)
            } else {
                return nil
            }
        }
    }

    private mutating func string() -> String? {
        index += 1
        let start = index
        // The common case: no escapes, the bytes are the string.
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
            guard bytes[index] >= 0x20 else { return nil }
            index += 1
        }
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "\"") {
            defer { index += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }
        var scalars = String.UnicodeScalarView()
        var utf8 = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                return String(scalars)
            }
            guard byte >= 0x20 else { return nil }
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { return nil }
            let escaped = bytes[index]
            index += 1
            let simple: [UInt8: UInt8] = [
                UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C, UInt8(ascii: "/"): 0x2F, UInt8(ascii: "b"): 0x08,
                UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "t"): 0x09,
            ]
            if let byte = simple[escaped] {
                utf8.append(byte)
                continue
            }
            guard escaped == UInt8(ascii: "u"), var code = hex4() else { return nil }
            if (0xD800...0xDBFF).contains(code) {
                // A surrogate pair: the low half must follow as another \u escape.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { return nil }
                index += 2
                guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(code) else { return nil }
            utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            code = code << 4 | UInt32(digit)
            index += 1
        }
        return code
    }

    private mutating func number() -> ScenarioValue? {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        var isFraction = false
        while index < bytes.count {
            let byte = bytes[index]
            if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                index += 1
            } else if [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-")]
                .contains(byte)
            {
                isFraction = true
                index += 1
            } else {
                break
            }
        }
        guard index > start else { return nil }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if !isFraction, let whole = Int(text) { return .int(whole) }
        guard let fraction = Double(text) else { return nil }
        return .double(fraction)
    }
}

extension JSONPath {
    /// What a definite path finds in a JSON text.
    enum Selection {
        case found(ScenarioValue)
        case missing
        case notJSON
    }

    /// The value a definite path names in `bytes`, reading only what lies on the path: every other value is
    /// skipped without being built. Text after the value found is not checked.
    func select(inJSON bytes: some Collection<UInt8>) -> Selection {
        precondition(isDefinite, "only a definite path selects one value")
        let steps = self.steps
        // Counting from a list's end needs the whole list: read it all.
        if steps.contains(where: { if case .element(let position) = $0 { position < 0 } else { false } }) {
            guard let value = ScenarioValue(jsonBytes: bytes) else { return .notJSON }
            return select(in: value).first.map { .found($0) } ?? .missing
        }
        let selection: Selection? = bytes.withContiguousStorageIfAvailable { buffer in
            var reader = JSONReader(buffer)
            return reader.select(steps)
        }
        if let selection { return selection }
        return Array(bytes).withUnsafeBufferPointer { buffer in
            var reader = JSONReader(buffer)
            return reader.select(steps)
        }
    }
}
