import NIOHTTP1
import Testing
import TurnstileTestSupport

/// Real concurrent buyers, each with their own account and token, against a live server on a real SQLite file.
/// Every request of a race is written up to its last byte first; the last bytes are then released together.
@Suite("Live races", .serialized, .timeLimit(.minutes(2)))
struct LiveRaceTests {
    /// Runs one race: `buyers` users each ask for `seatsEach` seats of a `seats`-seat event at the same instant.
    private func race(
        buyers: Int, seats: Int, seatsEach: Int
    ) async throws -> (
        statuses: [Int: Int], books: EventBooks, availableViaAPI: Int?
    ) {
        try await LiveServer.with { server in
            let users = try await server.provisionUsers(buyers)
            let eventID = try await server.createEvent(seats: seats, organizer: users[0])
            let responses = try await server.race(
                users.map {
                    .json(.POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": seatsEach], token: $0.token)
                })
            for response in responses where response.status == 409 {
                #expect(response.json["code"] as? String == "sold_out")
                #expect(response.headers["Content-Type"].first == "application/problem+json")
            }
            let statuses = responses.reduce(into: [Int: Int]()) { $0[$1.status, default: 0] += 1 }
            let books = try await EventBooks.read(databasePath: server.databasePath, eventID: eventID)
            let event = try await server.send(.init(.GET, "/api/v1/events/\(eventID)"))
            return (statuses, books, event.json["available_seats"] as? Int)
        }
    }

    @Test("100 buyers, 10 seats: exactly 10 × 201, 90 × 409, 0 left, 10 bookings stored")
    func hundredForTen() async throws {
        let result = try await race(buyers: 100, seats: 10, seatsEach: 1)
        #expect(result.statuses == [201: 10, 409: 90])
        #expect(result.books == EventBooks(seatCount: 10, availableSeats: 0, confirmedBookings: 10, confirmedSeats: 10))
        #expect(result.availableViaAPI == 0)
    }

    @Test("300 buyers, 299 seats: exactly 299 × 201 and 1 × 409")
    func threeHundredFor299() async throws {
        let result = try await race(buyers: 300, seats: 299, seatsEach: 1)
        #expect(result.statuses == [201: 299, 409: 1])
        #expect(
            result.books == EventBooks(seatCount: 299, availableSeats: 0, confirmedBookings: 299, confirmedSeats: 299))
    }

    @Test("300 buyers of 10 seats each, 10 seats: exactly 1 × 201")
    func threeHundredTimesTenForTen() async throws {
        let result = try await race(buyers: 300, seats: 10, seatsEach: 10)
        #expect(result.statuses == [201: 1, 409: 299])
        #expect(result.books == EventBooks(seatCount: 10, availableSeats: 0, confirmedBookings: 1, confirmedSeats: 10))
    }

    @Test("one Idempotency-Key sent 50 times at once: one booking, every response describes it")
    func idempotencyUnderRace() async throws {
        try await LiveServer.with { server in
            let user = try await server.provisionUser("retrier")
            let eventID = try await server.createEvent(seats: 100, organizer: user)
            let request = HTTPTestRequest.json(
                .POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 2], token: user.token,
                headers: [("Idempotency-Key", "checkout-7f3a")])
            let responses = try await server.race(Array(repeating: request, count: 50))
            #expect(responses.allSatisfy { $0.status == 201 })
            let ids = Set(responses.compactMap { $0.json["id"] as? Int })
            let references = Set(responses.compactMap { $0.json["reference"] as? String })
            #expect(ids.count == 1 && references.count == 1)
            #expect(responses.filter { $0.headers["Idempotent-Replayed"].first == "true" }.count == 49)
            let books = try await EventBooks.read(databasePath: server.databasePath, eventID: eventID)
            #expect(books == EventBooks(seatCount: 100, availableSeats: 98, confirmedBookings: 1, confirmedSeats: 2))
        }
    }

    @Test("a waitlist join sent 30 times at once under one key: one place, 29 replays of it, the next in line second")
    func idempotentWaitlistJoinUnderRace() async throws {
        try await LiveServer.with { server in
            let buyer = try await server.provisionUser("first")
            let waiter = try await server.provisionUser("waiter")
            let next = try await server.provisionUser("next")
            let eventID = try await server.createEvent(seats: 1, organizer: buyer)
            let bought = try await server.send(
                .json(.POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1], token: buyer.token))
            #expect(bought.status == 201)
            let join = HTTPTestRequest.json(
                .POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1, "waitlist": true],
                token: waiter.token, headers: [("Idempotency-Key", "line-9")])
            let responses = try await server.race(Array(repeating: join, count: 30))
            #expect(responses.allSatisfy { $0.status == 202 && $0.json["waitlist_position"] as? Int == 1 })
            #expect(responses.filter { $0.headers["Idempotent-Replayed"].first == "true" }.count == 29)
            let after = try await server.send(
                .json(
                    .POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1, "waitlist": true],
                    token: next.token))
            #expect(after.status == 202 && after.json["waitlist_position"] as? Int == 2, "\(after.text)")
        }
    }

    @Test("cancellations racing with bookings keep seats within 0...capacity and the books balanced")
    func cancellationsRaceBookings() async throws {
        try await LiveServer.with { server in
            let everyone = try await server.provisionUsers(60)
            let holders = Array(everyone.prefix(20))
            let newcomers = Array(everyone.dropFirst(20))
            let eventID = try await server.createEvent(seats: 20, organizer: holders[0])
            var bookingIDs: [Int] = []
            for holder in holders {
                let response = try await server.send(
                    .json(.POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1], token: holder.token))
                #expect(response.status == 201)
                bookingIDs.append(response.json["id"] as? Int ?? -1)
            }
            let cancels = zip(holders, bookingIDs).map { holder, id in
                HTTPTestRequest(
                    .DELETE, "/api/v1/bookings/\(id)", headers: [("Authorization", "Bearer \(holder.token)")])
            }
            let bookings = newcomers.map {
                HTTPTestRequest.json(
                    .POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1], token: $0.token)
            }
            // Interleave, so cancellations and bookings arrive mixed.
            let requests = zip(cancels, bookings.prefix(20)).flatMap { [$0, $1] } + bookings.dropFirst(20)
            let responses = try await server.race(requests)

            let cancelled = responses.filter { $0.json["status"] as? String == "cancelled" }.count
            let booked = responses.filter { $0.status == 201 }.count
            let refused = responses.filter { $0.status == 409 }.count
            // A refusal is right only if, at its turn, no seat was left: anything else would be an undersell.
            let refusalsSawNoSeatLeft = responses.filter { $0.status == 409 }.allSatisfy {
                ($0.json["available"] as? Int) == 0
            }
            #expect(refusalsSawNoSeatLeft)
            #expect(cancelled == 20)
            #expect(booked + refused == 40)
            #expect(booked <= 20)
            let books = try await EventBooks.read(databasePath: server.databasePath, eventID: eventID)
            #expect((0...20).contains(books.availableSeats))
            #expect(books.confirmedSeats == booked)
            #expect(books.availableSeats + books.confirmedSeats == 20)
        }
    }
}

extension LiveRaceTests {
    @Test("graceful shutdown mid-race: every committed booking is answered, every answered booking is stored")
    func shutdownMidRace() async throws {
        try await LiveServer.with { server in
            let users = try await server.provisionUsers(100)
            let eventID = try await server.createEvent(seats: 1_000, organizer: users[0])
            let outcomes = try await server.race(
                users.map {
                    .json(.POST, "/api/v1/bookings/", ["event_id": eventID, "seat_count": 1], token: $0.token)
                },
                whileReleased: {
                    // Shut down only once the race is observably under way: a booking is committed in the file.
                    while (try? await EventBooks.read(databasePath: server.databasePath, eventID: eventID))?
                        .confirmedBookings ?? 0 == 0
                    {
                        await Task.yield()
                    }
                    await server.shutDown()
                })

            let acknowledged = outcomes.compactMap { try? $0.get() }.filter { $0.status == 201 }
            let books = try await EventBooks.read(databasePath: server.databasePath, eventID: eventID)
            let storedIDs = try await BookingIDs.read(databasePath: server.databasePath, eventID: eventID)
            #expect(!acknowledged.isEmpty)
            // Nothing acknowledged is lost, and nothing committed goes unanswered: requests the server had begun
            // are finished and answered; those it had not yet read are refused at the connection, never stored.
            #expect(Set(acknowledged.compactMap { $0.json["id"] as? Int }) == storedIDs)
            #expect(books.availableSeats + books.confirmedSeats == 1_000)
            // Every answer is a 201; the rest failed at the connection, never with a server error.
            let answeredAll201 = outcomes.allSatisfy { (try? $0.get()).map { $0.status == 201 } ?? true }
            #expect(answeredAll201)
        }
    }
}
