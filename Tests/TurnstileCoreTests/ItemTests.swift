import Foundation
import Testing

@testable import TurnstileCore

@Suite("Auctions")
struct ItemTests {
    private let now = Date(timeIntervalSince1970: 1_900_000_000)

    private func item(increment: Int = 10) -> Item {
        Item(
            id: 4, sellerID: 1, title: "Lamp", startingPriceCents: 100, minIncrementCents: increment, endsAt: nil,
            createdAt: now)
    }

    @Test("a seller may not bid on their own item")
    func ownItem() {
        #expect(throws: TurnstileError.ownItem(itemID: 4)) {
            try item().judge(amountCents: 500, bidderID: 1, at: now).get()
        }
        #expect((try? item().judge(amountCents: 500, bidderID: 2, at: now).get()) != nil)
    }

    @Test("the highest bid leaves room for the increment, so an auction can always be outbid")
    func roomToOutbid() throws {
        let lamp = item(increment: 10)
        #expect(lamp.maximumBidCents == Limits.priceCentsMax - 10)
        #expect(throws: TurnstileError.self) {
            try lamp.judge(amountCents: Limits.priceCentsMax, bidderID: 2, at: now).get()
        }
        let (top, _) = try lamp.judge(amountCents: lamp.maximumBidCents, bidderID: 2, at: now).get()
        #expect(top.minimumNextBidCents <= Limits.priceCentsMax, "the next bid is still one the service accepts")
        #expect(throws: TurnstileError.self) {
            try NewItem(
                title: "Lamp", startingPriceCents: Limits.priceCentsMax, minIncrementCents: 1, endsAt: nil, now: now)
        }
    }
}
