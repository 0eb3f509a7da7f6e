import Foundation
import Hummingbird
import NIOCore
import Synchronization
import TurnstileCore

/// Whether a body's deadline passed; set once, from the event loop.
private final class TimeoutFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}

extension Request {
    /// Reads the body (at most ``Limits/requestBodyBytesMax`` bytes, within ``Limits/requestBodySecondsMax``) and
    /// decodes it as JSON.
    ///
    /// A body that is not JSON is ``TurnstileError/malformedJSON(detail:)`` (400); JSON of the wrong shape or
    /// types is ``TurnstileError/validationFailed(field:detail:)`` (422); a declared content type other than JSON
    /// is ``Problem/unsupportedMediaType`` (415); a body that is too large is ``Problem/payloadTooLarge`` (413); a
    /// body that does not arrive in time is ``Problem/requestTimeout`` (408, and the connection closes).
    mutating func decodeJSON<Value: Decodable>(
        _ type: Value.Type, context: TurnstileRequestContext
    ) async throws -> Value {
        if let contentType = headers[.contentType], !Self.isJSON(contentType) {
            throw Problem.unsupportedMediaType(contentType)
        }
        let buffer = try await Self.collect(
            body, within: .seconds(Limits.requestBodySecondsMax), on: context.eventLoop)
        guard buffer.readableBytes > 0 else { throw TurnstileError.malformedJSON(detail: "the body is empty") }
        if let flatType = Value.self as? any FlatJSONDecodable.Type,
            let members = FlatJSON.object(buffer.readableBytesView),
            let value = flatType.init(flat: members) as? Value
        {
            return value
        }
        return try JSONCoding.decode(type, from: Data(buffer.readableBytesView))
    }

    /// The whole body, or ``Problem/requestTimeout`` when it has not all arrived within `deadline`. A body over the
    /// limit throws NIOTooManyBytesError, which ProblemMiddleware answers 413 for every route.
    ///
    /// The deadline is a task scheduled on the channel's event loop, cancelled as soon as the body is in: nothing
    /// sleeps per request. Reading runs in a task of its own, which the deadline cancels (and so does the caller's
    /// cancellation); the request's own task, which holds the connection, is never cancelled.
    static func collect(
        _ body: RequestBody, within deadline: Duration, on eventLoop: any EventLoop
    ) async throws -> ByteBuffer {
        let timedOut = TimeoutFlag()
        let reading = Task { try await body.collect(upTo: Limits.requestBodyBytesMax) }
        let timer = eventLoop.scheduleTask(in: TimeAmount(deadline)) {
            timedOut.set()
            reading.cancel()
        }
        defer { timer.cancel() }
        do {
            let buffer = try await withTaskCancellationHandler {
                try await reading.value
            } onCancel: {
                reading.cancel()
            }
            // A cancelled read ends as if the body ended: only the flag tells a cut-off body from a whole one.
            if timedOut.isSet { throw Problem.requestTimeout }
            return buffer
        } catch  where timedOut.isSet {
            throw Problem.requestTimeout
        }
    }

    /// Whether a `Content-Type` names JSON (`application/json`, or any `application/…+json` type), whatever its
    /// parameters and letter case. Compares bytes: this runs on every write.
    private static func isJSON(_ contentType: String) -> Bool {
        var mediaType = Array(contentType.utf8.prefix { $0 != UInt8(ascii: ";") })
        while mediaType.last == UInt8(ascii: " ") { mediaType.removeLast() }
        for index in mediaType.indices where (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(mediaType[index]) {
            mediaType[index] += 32
        }
        let application = Array("application/".utf8)
        guard mediaType.starts(with: application) else { return false }
        let subtype = mediaType.dropFirst(application.count)
        return subtype.elementsEqual("json".utf8)
            || (subtype.count > 5 && subtype.suffix(5).elementsEqual("+json".utf8))
    }

    /// An integer path parameter, e.g. the `id` of `/events/{id}`.
    func pathID(_ name: String, context: TurnstileRequestContext) throws(TurnstileError) -> Int64 {
        guard let text = context.parameters.get(name), let id = Int64(text), id > 0 else {
            throw .validationFailed(field: name, detail: "must be a positive integer id")
        }
        return id
    }

    /// An optional integer query parameter, e.g. `page`.
    func queryInt(_ name: String) throws(TurnstileError) -> Int? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let value = Int(text) else {
            throw .validationFailed(field: name, detail: "must be an integer, got '\(text)'")
        }
        return value
    }
}
