import Foundation
import Testing

@testable import TurnstileCore

@Suite("Validation")
struct ValidationTests {
    @Test("an address has one spelling: quoted, escaped or bracketed local parts and odd domains are refused")
    func onePlainSpelling() throws {
        for address in [
            "\"victim\"@example.com", "vic\\tim@example.com", "victim.@example.com",
            ".victim@example.com", "vic..tim@example.com", "victim@[127.0.0.1]", "victim@example..com",
            "(comment)victim@example.com", "victim@exa_mple.com",
        ] {
            #expect(
                throws: TurnstileError.validationFailed(
                    field: "email",
                    detail: "must be a plain address such as ada@example.com (no quotes, brackets or escapes)"),
                "\(address)"
            ) {
                try Registration(email: address, username: "victim2", password: "correct horse")
            }
        }
        for address in ["o'brien@example.com", "a.b+tag@mail.example.co.uk", "x_y-z@ex-ample.io"] {
            #expect(try Registration(email: address, username: "ada", password: "correct horse").email == address)
        }
    }

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
        // Dates from 1970-01-01 to the end of 9999-12-31, its last second's fractions included.
        for seconds in [0, 253_402_300_799.999] {
            let kept = Date(timeIntervalSince1970: seconds)
            #expect(throws: Never.self) {
                try NewEvent(title: "Gig", description: nil, date: kept, location: nil, seatCount: 1)
            }
        }
        for seconds in [-0.001, 253_402_300_800] {
            #expect(
                throws: TurnstileError.validationFailed(
                    field: "date", detail: "must be between 1970-01-01 and 9999-12-31")
            ) {
                try NewEvent(
                    title: "Gig", description: nil, date: Date(timeIntervalSince1970: seconds), location: nil,
                    seatCount: 1)
            }
        }
    }

    @Test("lengths are counted as the OpenAPI document counts them: Unicode code points, as sent")
    func lengthsInCodePoints() throws {
        let max = Limits.passwordLengthMax
        // "é" as e + a combining accent: one character, two code points.
        let combined = String(repeating: "e\u{0301}", count: max / 2 + 1)
        #expect(combined.count <= max && combined.unicodeScalars.count > max)
        #expect(
            throws: TurnstileError.validationFailed(field: "password", detail: "must be at most \(max) characters long")
        ) {
            try Registration(email: "a@b.io", username: "ada", password: combined)
        }
        // A title over the limit only by its surrounding white space is over the limit, as the document says.
        let date = Date(timeIntervalSince1970: 1_900_000_000)
        let title = String(repeating: "x", count: Limits.eventTitleLengthMax) + "  "
        #expect(
            throws: TurnstileError.validationFailed(
                field: "title", detail: "must be at most \(Limits.eventTitleLengthMax) characters long")
        ) {
            try NewEvent(title: title, description: nil, date: date, location: nil, seatCount: 1)
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

@Suite("Look-alike accounts")
struct LookAlikeAccountTests {
    @Test(
        "invisible and control characters are refused, naming the field and the character",
        arguments: [
            ("ka\u{200B}te@example.com", "U+200B"), ("ka\u{00AD}te@example.com", "U+00AD"),
            ("\u{200F}kate@example.com", "U+200F"), ("kate\u{0}@example.com", "U+0000"),
        ])
    func invisible(_ email: String, _ code: String) {
        #expect(
            throws: TurnstileError.validationFailed(
                field: "email", detail: "must not contain control or invisible formatting characters (found \(code))")
        ) {
            try Registration(email: email, username: "kate", password: "correct horse")
        }
        #expect(throws: TurnstileError.self) {
            try Registration(email: "kate@example.com", username: "ka\u{200B}te", password: "correct horse")
        }
    }

    @Test("compatibility forms and case fold to one address; letters from other scripts are refused")
    func normalisation() throws {
        let plain = try Registration(email: "kate@example.com", username: "kate", password: "correct horse")
        let fullwidth = try Registration(email: "\u{FF4B}ate@example.com", username: "kate2", password: "correct horse")
        let upper = try Registration(email: "KATE@EXAMPLE.COM", username: "kate3", password: "correct horse")
        #expect(fullwidth.email == plain.email && upper.email == plain.email)
        #expect(Registration.normalizedEmail("\u{FF4B}ate@example.com") == "kate@example.com", "logins fold the same")
        for lookAlike in ["k\u{0430}te@example.com", "kat\u{0065}\u{0301}@example.com", "katé@example.com"] {
            #expect(throws: TurnstileError.self, "\(lookAlike)") {
                try Registration(email: lookAlike, username: "kate", password: "correct horse")
            }
        }
    }
}
