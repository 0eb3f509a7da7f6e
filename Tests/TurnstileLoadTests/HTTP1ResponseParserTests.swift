import NIOCore
import Testing
import TurnstileReport

@testable import TurnstileLoad

/// The engine's HTTP/1.1 answer parser, byte by byte: every framing RFC 9112 gives an answer, split at every place a
/// network could split it, and what a hostile target can send instead.
@Suite("HTTP/1.1 answer parser")
struct HTTP1ResponseParserTests {
    /// What one answer parses to, fed in reads of `chunk` bytes (all at once when nil), with the connection's end
    /// after it when `closes`.
    struct Parsed: Equatable {
        var status: Int?
        var headers: [String] = []
        var keepAlive: Bool?
        var body = ""
        var ended = false
        var leftOver = 0
    }

    private func parse(
        _ text: String, chunk: Int? = nil, isHead: Bool = false, closes: Bool = false
    ) throws(LoadError) -> Parsed {
        var parser = HTTP1ResponseParser()
        parser.begin(isHead: isHead)
        var parsed = Parsed()
        let bytes = Array(text.utf8)
        let size = chunk ?? max(bytes.count, 1)
        func take(_ event: HTTP1ResponseParser.Event) {
            switch event {
            case .head(let status, let headers, let keepAlive):
                parsed.status = status
                parsed.headers = headers.map { "\($0.name): \($0.value)" }
                parsed.keepAlive = keepAlive
            case .body(let buffer): parsed.body += String(buffer: buffer)
            case .end: parsed.ended = true
            }
        }
        var start = 0
        repeat {
            var buffer = ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)])
            while let event = try parser.next(&buffer) { take(event) }
            parsed.leftOver += buffer.readableBytes
            start += size
        } while start < bytes.count
        if closes, let event = try parser.connectionEnded() { take(event) }
        return parsed
    }

    @Test(
        "every framing reads the same whether the bytes come at once or one at a time",
        arguments: [nil, 1, 2, 3, 7])
    func framings(_ chunk: Int?) throws {
        let fixed = try parse("HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello", chunk: chunk)
        #expect(
            fixed
                == Parsed(
                    status: 201, headers: ["Content-Length: 5", "X-A: b"], keepAlive: true, body: "hello", ended: true))
        let chunked = try parse(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1A\r\n"
                + String(repeating: "z", count: 26) + "\r\n0\r\nTrailer: x\r\n\r\n", chunk: chunk)
        #expect(
            chunked.body == "hello" + String(repeating: "z", count: 26) && chunked.ended && chunked.keepAlive == true)
        let bareLF = try parse("HTTP/1.1 200 OK\nContent-Length: 2\n\nok", chunk: chunk)
        #expect(bareLF.body == "ok" && bareLF.ended)
        let closed = try parse("HTTP/1.1 200 OK\r\n\r\nuntil the end", chunk: chunk, closes: true)
        #expect(closed.body == "until the end" && closed.ended && closed.keepAlive == false)
        let interim = try parse(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            chunk: chunk)
        #expect(interim.status == 204 && interim.ended && interim.headers.isEmpty)
    }

    @Test("no body for a HEAD, a 204 or a 304; HTTP/1.0 and Connection: close are not reused")
    func bodiesAndReuse() throws {
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", isHead: true).ended)
        #expect(try parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n").ended)
        #expect(try parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keepAlive == false)
        #expect(try parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").keepAlive == true)
        #expect(
            try parse("HTTP/1.1 200 OK\r\nConnection: Upgrade, close\r\nContent-Length: 0\r\n\r\n").keepAlive == false)
        // Both framings: Transfer-Encoding wins, and a message that may have been smuggled is not reused.
        let both = try parse(
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n")
        #expect(both.body == "a" && both.keepAlive == false)
        // A repeated, equal length is one length.
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok").body == "ok")
        // Bytes after the answer are not part of it.
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA").leftOver == 5)
    }

    @Test(
        "what is not HTTP/1.1 is a protocol error naming what is wrong",
        arguments: [
            ("NONSENSE\r\n\r\n", "status line"),
            ("HTTP/2.0 200 OK\r\n\r\n", "status line"),
            ("HTTP/1.1 20 OK\r\n\r\n", "status line"),
            ("HTTP/1.1 099 Low\r\n\r\n", "is not one"),
            ("HTTP/1.1 101 Switching\r\n\r\n", "switched protocols"),
            ("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "not 'name: value'"),
            ("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "not 'name: value'"),
            ("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", "folds"),
            ("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", "CR or NUL"),
            ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "not a length"),
            ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "not a length"),
            ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "two different"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "hex size"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", "hex size"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n", "runs past its size"),
        ])
    func refusals(_ answer: String, _ reason: String) {
        #expect {
            _ = try parse(answer)
        } throws: { error in
            let error = error as? LoadError
            return error?.kind == .protocol && error?.detail.contains(reason) == true
        }
    }

    @Test(
        "a head, a chunk-size line or trailers past their bounds is an error however the bytes come, and kept no more")
    func bounds() throws {
        // Within the bound (68 KB of headers of the 80 KiB), however the bytes come: read.
        let large = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Header: value\r\n", count: 4_000) + "\r\n"
        #expect(LoadLimits.answerHeadBytesMax == 80 * 1024 && large.utf8.count < LoadLimits.answerHeadBytesMax)
        for chunk in [nil, 4_096] {
            #expect(try parse(large, chunk: chunk, closes: true).headers.count == 4_000)
        }
        let endless = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Header: value\r\n", count: 6_000)
        for chunk in [nil, 4_096] {
            #expect(throws: LoadError.self) { _ = try parse(endless, chunk: chunk) }
        }
        let longChunkLine =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 5_000)
        #expect(throws: LoadError.self) { _ = try parse(longChunkLine, chunk: 1_000) }
        let trailers =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + String(repeating: "T: v\r\n", count: 20_000)
        #expect(throws: LoadError.self) { _ = try parse(trailers, chunk: 8_192) }
    }

    @Test("a connection that ends mid-answer is a reset; between answers it is nothing")
    func endsEarly() throws {
        for cut in ["HTTP/1.1 200 OK\r\nContent-Le", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"] {
            #expect {
                _ = try parse(cut, closes: true)
            } throws: { ($0 as? LoadError)?.kind == .reset }
        }
        var idle = HTTP1ResponseParser()
        let event = try idle.connectionEnded()
        #expect(event.map { _ in true } == nil)
    }
}
