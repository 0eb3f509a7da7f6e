import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A desk that refuses two ways with the same status, and a mirror of what a request sent: the target of the tests of
/// outcomes told apart by body and of bodies that are not JSON.
///
/// - `POST /claim` → 201 `{"ticket": n}` while tickets remain, but every third claim while they do is refused 409
///   `{"code": "busy", "detail": "high demand, try again"}`; once none remain, 409 `{"code": "sold_out", "detail":
///   "no tickets left"}`. Claims are counted in arrival order, so the counts are exact whatever the timing.
/// - `POST /echo` → 200 `{"content_type", "length", "body" (the first 200 bytes as text), "authorization"}`.
public struct TicketDesk: Sendable {
    public let port: Int

    public static func with<Result: Sendable>(
        tickets: Int, _ body: @Sendable (TicketDesk) async throws -> Result
    ) async throws -> Result {
        let claims = Mutex(0)
        let router = Router()
        router.post("claim") { _, _ in
            // The n-th claim: tickets go to claims that are not every third, until none remain.
            let (ticket, busy) = claims.withLock { count -> (Int?, Bool) in
                count += 1
                let sold = (count - 1) - (count - 1) / 3
                guard sold < tickets else { return (nil, false) }
                return count % 3 == 0 ? (nil, true) : (sold + 1, false)
            }
            if let ticket { return try ImitationTarget.json(["ticket": ticket], status: .created) }
            return try ImitationTarget.json(
                busy
                    ? ["code": "busy", "detail": "high demand, try again"]
                    : ["code": "sold_out", "detail": "no tickets left"], status: .conflict)
        }
        router.post("echo") { request, _ in
            let bytes = try await request.body.collect(upTo: 32 << 20)
            return try ImitationTarget.json([
                "content_type": request.headers[.contentType] ?? "",
                "length": bytes.readableBytes,
                "body": String(decoding: bytes.readableBytesView.prefix(200), as: UTF8.self),
                "authorization": request.headers[.authorization].map { $0 as Any } ?? NSNull(),
            ])
        }
        return try await ImitationTarget.serve(router, label: "ticket-desk") { port in
            try await body(TicketDesk(port: port))
        }
    }
}
