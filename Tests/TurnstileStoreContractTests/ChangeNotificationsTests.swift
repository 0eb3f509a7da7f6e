import Foundation
import Testing
import TurnstileCore

@testable import TurnstilePostgres

struct ChangeNotificationsTests {
    @Test("a large batch's changes are split under PostgreSQL's payload limit, and arrive whole and in order")
    func splitsAndReassembles() throws {
        let sender = ChangeNotifications()
        let receiver = ChangeNotifications()
        let changes = (1...500).map { seq in
            LiveChange.bid(
                Bid(
                    itemID: 3, seq: seq, bidderID: Int64(seq), amountCents: 100 + seq,
                    createdAt: Date(timeIntervalSince1970: 1)))
        }
        let payloads = try sender.payloads(changes)
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.utf8.count <= ChangeNotifications.payloadBytesMax })
        #expect(payloads.compactMap { receiver.changes(fromOthers: $0) }.flatMap { $0 } == changes)
        #expect(payloads.allSatisfy { sender.changes(fromOthers: $0) == nil }, "an instance passes over its own")
        #expect(try sender.payloads([]).isEmpty)
    }
}
