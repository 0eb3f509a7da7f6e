import NIOCore
import NIOHTTP1
import TurnstileReport

/// Reads HTTP/1.1 responses from a target's bytes as they arrive (RFC 9112, the client's side): a head, then a body
/// framed by `Content-Length`, by chunks, or by the connection's end; interim 1xx answers are skipped.
///
/// The engine's own parser, not NIO's `HTTPResponseDecoder`: that decoder's generic pipeline stage, its C parser's
/// callbacks and the request heads it must see go by cost more CPU per request than the rest of the engine's own
/// work (BENCHMARKS.md, issue 29). Body bytes are handed on as slices of the buffers read, never copied.
///
/// What a hostile target can spend is bounded: a head (or a chunked body's trailers) at most
/// ``LoadLimits/answerHeadBytesMax`` bytes, a chunk-size line at most ``LoadLimits/answerChunkLineBytesMax``; a chunk size of more than 15 hex digits, a length that
/// is not a number, two lengths that differ, a folded or malformed header line, or a status line that is not
/// HTTP/1.x is a protocol error. The caller bounds the time (its timeouts) and what it keeps of a body.
struct HTTP1ResponseParser {
    enum Event {
        /// The final head: status, headers, and whether the connection may carry another request after this answer.
        case head(status: Int, headers: HTTPHeaders, keepAlive: Bool)
        case body(ByteBuffer)
        case end
    }

    private enum State {
        /// Waiting for (the rest of) a head; `pending` holds what came so far.
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The CRLF after a chunk's data.
        case chunkDataEnd
        case trailers
        case untilClose
        /// The answer is complete: its end is the next event.
        case complete
        /// The answer is complete and its end given; bytes now are not part of it.
        case done
    }

    private var state = State.done
    /// Bytes of an unfinished line or head, kept across reads.
    private var pending: ByteBuffer?
    /// How far `pending` was already searched for the head's end.
    private var searched = 0
    private var isHead = false

    /// Starts reading the answer to one request; `isHead` for a HEAD request, whose answer has no body.
    mutating func begin(isHead: Bool) {
        state = .head
        pending = nil
        searched = 0
        self.isHead = isHead
    }

    /// The next event the bytes of `buffer` make, consuming them; nil when more bytes are needed (or the answer is
    /// done: what is left of `buffer` then is not part of it).
    mutating func next(_ buffer: inout ByteBuffer) throws(LoadError) -> Event? {
        while true {
            switch state {
            case .done:
                return nil
            case .complete:
                state = .done
                return .end
            case .head:
                guard
                    let head = try takeLine(
                        from: &buffer, until: .blankLine, max: LoadLimits.answerHeadBytesMax, what: "head")
                else { return nil }
                if let event = try readHead(head) { return event }
            case .fixed(let remaining):
                guard let (slice, left) = Self.take(upTo: remaining, from: &buffer) else { return nil }
                state = left == 0 ? .complete : .fixed(remaining: left)
                return .body(slice)
            case .chunkSize:
                guard
                    let line = try takeLine(
                        from: &buffer, until: .lineEnd, max: LoadLimits.answerChunkLineBytesMax, what: "chunk-size line"
                    )
                else { return nil }
                let size = try Self.chunkSize(line)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard let (slice, left) = Self.take(upTo: remaining, from: &buffer) else { return nil }
                state = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)
                return .body(slice)
            case .chunkDataEnd:
                // CRLF, or a bare LF.
                guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
                if first == UInt8(ascii: "\r") {
                    guard let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else {
                        return nil
                    }
                    guard second == UInt8(ascii: "\n") else { throw Self.failure("a chunk's data runs past its size") }
                    buffer.moveReaderIndex(forwardBy: 2)
                } else {
                    guard first == UInt8(ascii: "\n") else { throw Self.failure("a chunk's data runs past its size") }
                    buffer.moveReaderIndex(forwardBy: 1)
                }
                state = .chunkSize
            case .trailers:
                guard
                    try takeLine(from: &buffer, until: .blankLine, max: LoadLimits.answerHeadBytesMax, what: "trailers")
                        != nil
                else { return nil }
                state = .done
                return .end
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                return .body(buffer.readSlice(length: buffer.readableBytes)!)
            }
        }
    }

    /// Up to `remaining` bytes of `buffer`, as a slice of it, and how many of the `remaining` are still to come; nil
    /// when `buffer` has none.
    private static func take(upTo remaining: Int, from buffer: inout ByteBuffer) -> (ByteBuffer, left: Int)? {
        guard buffer.readableBytes > 0 else { return nil }
        let count = min(remaining, buffer.readableBytes)
        return (buffer.readSlice(length: count)!, remaining - count)
    }

    /// What the connection's end means: the end of an answer read until then, nothing between answers, or an
    /// answer cut short.
    mutating func connectionEnded() throws(LoadError) -> Event? {
        switch state {
        case .done: return nil
        case .untilClose, .complete:
            state = .done
            return .end
        case .head where pending == nil: throw LoadError(.reset, "the connection closed before any answer")
        default: throw LoadError(.reset, "the connection closed mid-response")
        }
    }

    // MARK: Lines

    private enum Terminator {
        /// One line: up to LF (CRLF or a bare LF).
        case lineEnd
        /// Lines up to an empty one: a head, or trailers.
        case blankLine
    }

    /// The bytes up to `terminator` (without it, a line's CR taken off), from what was pending and `buffer`; nil when
    /// `buffer` ends first, its bytes then kept. More than `max` bytes before the terminator is a protocol error.
    private mutating func takeLine(
        from buffer: inout ByteBuffer, until terminator: Terminator, max: Int, what: String
    ) throws(LoadError) -> ByteBuffer? {
        guard var kept = pending else {
            guard buffer.readableBytes > 0 else { return nil }
            guard let end = Self.find(terminator, in: buffer, from: 0) else {
                guard buffer.readableBytes <= max + 2 else {
                    throw Self.failure("its \(what) is longer than \(max) bytes")
                }
                pending = buffer.readSlice(length: buffer.readableBytes)
                searched = pending!.readableBytes
                return nil
            }
            guard end.contentEnd <= max else { throw Self.failure("its \(what) is longer than \(max) bytes") }
            let line = buffer.getSlice(at: buffer.readerIndex, length: end.contentEnd)!
            buffer.moveReaderIndex(forwardBy: end.consumed)
            return line
        }
        // The kept bytes and these, together; the terminator may have begun in the last read, so its last bytes are
        // searched again.
        kept.writeBuffer(&buffer)
        guard let end = Self.find(terminator, in: kept, from: Swift.max(0, searched - 3)) else {
            guard kept.readableBytes <= max + 2 else { throw Self.failure("its \(what) is longer than \(max) bytes") }
            pending = kept
            searched = kept.readableBytes
            return nil
        }
        guard end.contentEnd <= max else { throw Self.failure("its \(what) is longer than \(max) bytes") }
        pending = nil
        searched = 0
        // What follows the terminator is the rest of this read.
        buffer = kept.getSlice(at: kept.readerIndex + end.consumed, length: kept.readableBytes - end.consumed)!
        return kept.getSlice(at: kept.readerIndex, length: end.contentEnd)!
    }

    /// Where `terminator` ends in `buffer` (searched from offset `from`): the length of what precedes it (a line's
    /// CR, or the blank line's, not counted) and of what it takes in all.
    private static func find(
        _ terminator: Terminator, in buffer: ByteBuffer, from: Int
    ) -> (contentEnd: Int, consumed: Int)? {
        buffer.withUnsafeReadableBytes { bytes in
            let (cr, lf) = (UInt8(ascii: "\r"), UInt8(ascii: "\n"))
            var index = from
            while index < bytes.count {
                guard bytes[index] == lf else {
                    index += 1
                    continue
                }
                switch terminator {
                case .lineEnd:
                    return (index > 0 && bytes[index - 1] == cr ? index - 1 : index, index + 1)
                case .blankLine:
                    // An empty line ends here: "\n\n" or "\n\r\n" before it, or the whole input so far is blank.
                    if index == 0 || (index == 1 && bytes[0] == cr) { return (0, index + 1) }
                    if bytes[index - 1] == lf { return (index - 1, index + 1) }
                    if index >= 2, bytes[index - 1] == cr, bytes[index - 2] == lf { return (index - 2, index + 1) }
                }
                index += 1
            }
            return nil
        }
    }

    // MARK: The head

    /// What the head's framing headers said.
    private struct Framing {
        var contentLength: Int?
        var chunked: Bool?
        var closes = false
        var keepsAlive = false
    }

    /// Reads one head: the final one's event, or nil for an interim (1xx) answer, which is skipped.
    private mutating func readHead(_ head: ByteBuffer) throws(LoadError) -> Event? {
        let read: Result<(Int, Bool, HTTPHeaders, Framing), LoadError> = head.withUnsafeReadableBytes { bytes in
            do throws(LoadError) { return .success(try Self.parseHead(bytes)) } catch { return .failure(error) }
        }
        let (status, isHTTP11, headers, framing) = try read.get()
        if status < 200 {
            guard status != 101 else { throw Self.failure("it switched protocols, which no request asked for") }
            return nil
        }
        var keepAlive = !framing.closes && (isHTTP11 || framing.keepsAlive)
        if isHead || status == 204 || status == 304 {
            state = .complete
        } else if let chunked = framing.chunked {
            // Transfer-Encoding overrides Content-Length; a message with both may have been smuggled: not reused.
            if framing.contentLength != nil { keepAlive = false }
            if chunked {
                state = .chunkSize
            } else {
                state = .untilClose
                keepAlive = false
            }
        } else if let contentLength = framing.contentLength {
            state = contentLength == 0 ? .complete : .fixed(remaining: contentLength)
        } else {
            state = .untilClose
            keepAlive = false
        }
        return .head(status: status, headers: headers, keepAlive: keepAlive)
    }

    /// The status line and header lines of a head, in one pass over its bytes.
    private static func parseHead(
        _ bytes: UnsafeRawBufferPointer
    ) throws(LoadError) -> (Int, Bool, HTTPHeaders, Framing) {
        let (cr, lf) = (UInt8(ascii: "\r"), UInt8(ascii: "\n"))
        /// The line that starts at `start`: its end (before any CR) and where the next begins.
        func line(from start: Int) -> (end: Int, next: Int) {
            var index = start
            while index < bytes.count, bytes[index] != lf { index += 1 }
            let end = index > start && bytes[index - 1] == cr ? index - 1 : index
            return (end, index + 1)
        }
        let first = line(from: 0)
        let (status, isHTTP11) = try statusLine(UnsafeRawBufferPointer(rebasing: bytes[0..<first.end]))
        var headers = HTTPHeaders()
        var framing = Framing()
        var start = first.next
        while start < bytes.count {
            let (end, next) = line(from: start)
            defer { start = next }
            guard end > start else { throw failure("its head has an empty line inside") }
            guard bytes[start] != UInt8(ascii: " "), bytes[start] != UInt8(ascii: "\t") else {
                throw failure("it folds a header over two lines")
            }
            var colon = start
            while colon < end, isTokenByte(bytes[colon]) { colon += 1 }
            guard colon > start, colon < end, bytes[colon] == UInt8(ascii: ":") else {
                throw failure("a header line is not 'name: value'")
            }
            var (valueStart, valueEnd) = (colon + 1, end)
            while valueStart < valueEnd, bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09 { valueStart += 1 }
            while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
            guard !value.contains(where: { $0 == 0 || $0 == cr }) else {
                throw failure("a header value holds a CR or NUL")
            }
            let name = UnsafeRawBufferPointer(rebasing: bytes[start..<colon])
            headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
            switch framingHeader(name) {
            case .contentLength: try readContentLength(value, into: &framing)
            case .transferEncoding:
                // Only the last coding frames the body.
                let last =
                    value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).last ?? value[...]
                framing.chunked = equalsLowercase(trimmed(last), "chunked")
            case .connection:
                for token in value.split(separator: UInt8(ascii: ",")) {
                    let token = trimmed(token)
                    if equalsLowercase(token, "close") { framing.closes = true }
                    if equalsLowercase(token, "keep-alive") { framing.keepsAlive = true }
                }
            case nil: break
            }
        }
        return (status, isHTTP11, headers, framing)
    }

    /// A `Content-Length`: digits, or a list of equal ones.
    private static func readContentLength(
        _ value: UnsafeRawBufferPointer, into framing: inout Framing
    ) throws(LoadError) {
        for part in value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let digits = trimmed(part)
            guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                let shown = Format.printable(String(decoding: value.prefix(40), as: UTF8.self))
                throw failure("its Content-Length '\(shown)' is not a length")
            }
            let length = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
            guard framing.contentLength == nil || framing.contentLength == length else {
                throw failure("it gives two different Content-Lengths")
            }
            framing.contentLength = length
        }
    }

    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        var (start, end) = (bytes.startIndex, bytes.endIndex)
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return bytes[start..<end]
    }

    /// Whether `bytes` are `lowercase`, whatever their case.
    private static func equalsLowercase(_ bytes: some Collection<UInt8>, _ lowercase: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        return bytes.count == expected.count && zip(bytes, expected).allSatisfy { $0 == $1 || $0 | 0x20 == $1 }
    }

    /// The status and whether the version is 1.1, from `HTTP/1.x NNN reason`.
    private static func statusLine(_ line: UnsafeRawBufferPointer) throws(LoadError) -> (Int, Bool) {
        let isDigit = { (byte: UInt8) in byte >= 48 && byte <= 57 }
        guard line.count >= 12, line[0..<7].elementsEqual("HTTP/1.".utf8),
            line[7] == UInt8(ascii: "0") || line[7] == UInt8(ascii: "1"), line[8] == UInt8(ascii: " "),
            isDigit(line[9]), isDigit(line[10]), isDigit(line[11]), line.count == 12 || line[12] == UInt8(ascii: " ")
        else {
            let shown = Format.printable(String(decoding: line.prefix(40), as: UTF8.self))
            throw failure("its status line '\(shown)' is not HTTP/1.x")
        }
        let status = Int(line[9] - 48) * 100 + Int(line[10] - 48) * 10 + Int(line[11] - 48)
        guard status >= 100 else { throw failure("its status \(status) is not one") }
        return (status, line[7] == UInt8(ascii: "1"))
    }

    /// A chunk's size from its line (`1a3f`, or `1a3f;name=value`).
    private static func chunkSize(_ line: ByteBuffer) throws(LoadError) -> Int {
        let view = line.readableBytesView
        let digits = view.prefix { hexValue($0) != nil }
        let rest = view.dropFirst(digits.count).drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard !digits.isEmpty, digits.count <= 15, rest.isEmpty || rest.first == UInt8(ascii: ";") else {
            throw failure("a chunk-size line is not a hex size")
        }
        return digits.reduce(0) { $0 << 4 | hexValue($1)! }
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 48...57: Int(byte - 48)
        case 65...70: Int(byte - 55)
        case 97...102: Int(byte - 87)
        default: nil
        }
    }

    private enum FramingHeader {
        case contentLength, transferEncoding, connection
    }

    /// Which of the headers that frame an answer `name` is, if any, compared without regard to case.
    private static func framingHeader(_ name: UnsafeRawBufferPointer) -> FramingHeader? {
        switch name.count {
        case 14: equalsLowercase(name, "content-length") ? .contentLength : nil
        case 17: equalsLowercase(name, "transfer-encoding") ? .transferEncoding : nil
        case 10: equalsLowercase(name, "connection") ? .connection : nil
        default: nil
        }
    }

    /// RFC 9110's tchar.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"),
            UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
            UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    private static func failure(_ reason: String) -> LoadError {
        LoadError(.protocol, "the answer is not HTTP/1.1 as RFC 9112 has it: \(reason)")
    }
}
