import Foundation
import HTTPTypes
import NIOCore
import Hummingbird
import Logging
import ServiceLifecycle

/// A deliberately broken imitation of the Turnstile API, for proving the engine catches what it must.
public struct BrokenTarget: Sendable {
    /// What is wrong with it.
    public enum Defect: Sendable {
        /// Its booking reads the seats left, waits until every buyer's booking has read, then writes: the classic
        /// read-pause-write race, made deterministic by a gate on a count rather than by timing. Every buyer sees
        /// the full stock, so it oversells.
        case oversells
        /// It answers 201 to a booking that fits, but never stores it: acknowledged writes are lost.
        case losesBookings
        /// Its books are sound, but a user's bookings are a bare list rather than Turnstile's `{"bookings": […]}`:
        /// the same paths, another shape.
        case answersOtherShapes
    }

    public let port: Int

    /// Runs `body` against a broken target; `buyers` is how many bookings an overselling one waits for.
    public static func with<Result: Sendable>(
        buyers: Int, defect: Defect = .oversells, _ body: @Sendable (BrokenTarget) async throws -> Result
    ) async throws -> Result {
        let books = BrokenBooks(buyers: buyers, defect: defect)
        let router = Router()
        let api = router.group("api/v1")
        api.post("auth/register") { request, context in
            let body = try await request.decode(as: [String: String].self, context: context)
            return try await ImitationTarget.json(["id": books.register(email: body["email"] ?? "")], status: .created)
        }
        api.post("auth/login") { request, context in
            let body = try await request.decode(as: [String: String].self, context: context)
            return try await ImitationTarget.json(["access_token": "user-\(books.userID(email: body["email"] ?? ""))"])
        }
        api.post("events") { request, context in
            let body = try await request.decode(as: NewEvent.self, context: context)
            return try await ImitationTarget.json(books.createEvent(seats: body.seat_count), status: .created)
        }
        api.get("events/:id") { _, context in
            try await ImitationTarget.json(books.event(context.parameters.require("id", as: Int.self)))
        }
        api.post("bookings") { request, context in
            let user = Int(request.headers[.authorization]?.split(separator: "-").last ?? "") ?? 0
            let body = try await request.decode(as: NewBooking.self, context: context)
            guard let id = await books.book(user: user, event: body.event_id, seats: body.seat_count) else {
                return try ImitationTarget.json(["code": "sold_out"], status: .conflict)
            }
            return try ImitationTarget.json(["id": id], status: .created)
        }
        api.get("bookings") { request, _ in
            let user = Int(request.headers[.authorization]?.split(separator: "-").last ?? "") ?? 0
            let bookings = await books.bookings(user: user)
            return try ImitationTarget.json(defect == .answersOtherShapes ? bookings : ["bookings": bookings])
        }

        return try await ImitationTarget.serve(router, label: "broken-target") { port in
            try await body(BrokenTarget(port: port))
        }
    }

    private struct NewEvent: Decodable {
        let seat_count: Int
    }

    private struct NewBooking: Decodable {
        let event_id: Int
        let seat_count: Int
    }
}

/// The broken target's state. An actor, so every step is atomic, except across the `await` in `book`: that
/// suspension is the bug on purpose.
private actor BrokenBooks {
    private let defect: BrokenTarget.Defect
    private var users: [String: Int] = [:]
    private var events: [Int: (seats: Int, available: Int)] = [:]
    private var bookingsByUser: [Int: [[String: any Sendable]]] = [:]
    private var nextBookingID = 1
    private let gate: ArrivalGate

    init(buyers: Int, defect: BrokenTarget.Defect) {
        self.defect = defect
        gate = ArrivalGate(count: buyers)
    }

    func register(email: String) -> Int {
        users[email] = users.count + 1
        return users.count
    }

    func userID(email: String) -> Int { users[email] ?? 0 }

    func createEvent(seats: Int) -> [String: any Sendable] {
        let id = events.count + 1
        events[id] = (seats, seats)
        return event(id)
    }

    func event(_ id: Int) -> [String: any Sendable] {
        let event = events[id] ?? (0, 0)
        return ["id": id, "seat_count": event.seats, "available_seats": event.available]
    }

    func book(user: Int, event id: Int, seats: Int) async -> Int? {
        if case .losesBookings = defect {
            guard (events[id]?.available ?? 0) >= seats else { return nil }
            defer { nextBookingID += 1 }
            return nextBookingID
        }
        let available = events[id]?.available ?? 0
        // Read, pause until every buyer has read, then write what was read: a lost update for all but the last.
        // (Sound books, in another shape, take no pause.)
        if case .oversells = defect { await gate.arrive() }
        guard available >= seats else { return nil }
        events[id]?.available = available - seats
        defer { nextBookingID += 1 }
        bookingsByUser[user, default: []].append(
            ["id": nextBookingID, "event_id": id, "seat_count": seats, "status": "confirmed"])
        return nextBookingID
    }

    func bookings(user: Int) -> [[String: any Sendable]] { bookingsByUser[user] ?? [] }
}
