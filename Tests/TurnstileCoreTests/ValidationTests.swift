import Foundation
import Testing

@testable import TurnstileCore

@Suite("Validation")
struct ValidationTests {
    @Test("registrations are normalised and checked field by field")
    func registration() throws {
        let valid = try Registration(email: "  Ada@Example.COM ", username: "ada", password: "correct horse")
        #expect(valid.email == "ada@example.com")

        #expect(
            throws: TurnstileError.validationFailed(
                field: "email", detail: "must be an email address such as ada@example.com")
        ) {
            try Registration(email: "not-an-email", username: "ada", password: "correct horse")
        }
        #expect(
            throws: TurnstileError.validationFailed(field: "password", detail: "must be at least 8 characters long")
        ) {
            try Registration(email: "a@b.io", username: "ada", password: "short")
        }
        #expect(
            throws: TurnstileError.validationFailed(
                field: "username", detail: "may hold only letters, digits, '_', '.' and '-'")
        ) {
            try Registration(email: "a@b.io", username: "ada lovelace", password: "correct horse")
        }
    }

    @Test("new events need a title and 1...100000 seats")
    func newEvent() throws {
        let date = Date(timeIntervalSince1970: 1_900_000_000)
        let event = try NewEvent(title: " Gig ", description: nil, date: date, location: nil, seatCount: 100_000)
        #expect(event.title == "Gig")
        #expect(
            throws: TurnstileError.validationFailed(field: "seat_count", detail: "must be between 1 and 100000, got 0")
        ) {
            try NewEvent(title: "Gig", description: nil, date: date, location: nil, seatCount: 0)
        }
        #expect(throws: TurnstileError.validationFailed(field: "title", detail: "must not be empty")) {
            try NewEvent(title: "   ", description: nil, date: date, location: nil, seatCount: 1)
        }
    }

    @Test("booking requests take 1...10 seats and a bounded idempotency key")
    func bookingRequest() throws {
        let request = try BookingRequest(eventID: 1, seatCount: 10, userID: 3, idempotencyKey: "abc")
        #expect(request.claim == Claim(resource: .seats(eventID: 1), amount: 10, userID: 3, idempotencyKey: "abc"))
        for seats in [-1, 0, 11] {
            #expect(throws: TurnstileError.self) {
                try BookingRequest(eventID: 1, seatCount: seats, userID: 3, idempotencyKey: nil)
            }
        }
        #expect(throws: TurnstileError.self) {
            try BookingRequest(eventID: 1, seatCount: 1, userID: 3, idempotencyKey: String(repeating: "k", count: 129))
        }
    }

    @Test("pages default to 1 and 20, and stay within bounds")
    func pages() throws {
        let page = try PageRequest()
        #expect(page.page == 1 && page.pageSize == 20 && page.offset == 0)
        #expect(try PageRequest(page: 3, pageSize: 10).offset == 20)
        #expect(throws: TurnstileError.self) { try PageRequest(page: 1, pageSize: 101) }
        #expect(throws: TurnstileError.self) { try PageRequest(page: 0, pageSize: 10) }
    }
}
