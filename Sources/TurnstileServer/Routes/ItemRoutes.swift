import Foundation
import HTTPTypes
import Hummingbird
import TurnstileCore
import TurnstileStore
import TurnstileWire

/// Auctions: `POST /items/`, `GET /items/{id}`, `POST /items/{id}/bids` and `GET /items/{id}/bids` (the accepted
/// bids in order).
struct ItemRoutes<Store: TurnstileStore> {
    let store: Store

    func register(on routes: EndpointRoutes) {
        routes.on(.createItem) { request, context in
            let sellerID = try context.requireUserID()
            var request = request
            let body = try await request.decodeJSON(NewItemBody.self, context: context)
            let now = Date()
            let item = try NewItem(
                title: body.title, startingPriceCents: body.startingPriceCents,
                minIncrementCents: body.minIncrementCents, endsAt: body.endsAt, now: now)
            return EditedResponse(
                status: .created,
                response: ItemResponse(item: try await store.createItem(item, sellerID: sellerID), now: now))
        }
        routes.on(.getItem) { request, context in
            ItemResponse(item: try await item(request, context), now: Date())
        }
        routes.on(.listBids) { request, context in
            let id = try request.pathID("id", context: context)
            _ = try await item(request, context)
            return BidListResponse(bids: try await store.bids(itemID: id).map(BidResponse.init))
        }
        routes.on(.bid) { request, context in
            let bidderID = try context.requireUserID()
            let itemID = try request.pathID("id", context: context)
            var request = request
            let body = try await request.decodeJSON(BidBody.self, context: context)
            let accepted = try await store.bid(
                try BidRequest(itemID: itemID, bidderID: bidderID, amountCents: body.amountCents))
            return EditedResponse(status: .created, response: BidResponse(accepted.bid))
        }
    }

    private func item(_ request: Request, _ context: TurnstileRequestContext) async throws -> Item {
        let id = try request.pathID("id", context: context)
        guard let item = try await store.item(id: id) else { throw TurnstileError.notFound(entity: "item", id: id) }
        return item
    }
}
