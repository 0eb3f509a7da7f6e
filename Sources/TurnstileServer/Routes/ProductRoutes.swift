import HTTPTypes
import Hummingbird
import TurnstileCore
import TurnstileStore
import TurnstileWire

/// Stock and orders: `POST/GET /products/`, `GET /products/{id}`, `POST/GET /orders/` and
/// `POST /orders/{id}/pay|ship|cancel`. Orders claim stock through the allocator, like bookings claim seats.
struct ProductRoutes<Store: TurnstileStore> {
    let store: Store

    func register(on routes: EndpointRoutes) {
        routes.on(.createProduct) { request, context in
            let userID = try context.requireUserID()
            var request = request
            let body = try await request.decodeJSON(NewProductBody.self, context: context)
            let product = try NewProduct(sku: body.sku, name: body.name, priceCents: body.priceCents, stock: body.stock)
            return EditedResponse(
                status: .created, response: ProductResponse(try await store.createProduct(product, userID: userID)))
        }
        routes.on(.listProducts) { request, _ in
            let page = try PageRequest(page: request.queryInt("page"), pageSize: request.queryInt("page_size"))
            return PageResponse(try await store.products(page), ProductResponse.init)
        }
        routes.on(.getProduct) { request, context in
            let id = try request.pathID("id", context: context)
            guard let product = try await store.product(id: id) else {
                throw TurnstileError.notFound(entity: "product", id: id)
            }
            return ProductResponse(product)
        }

        routes.on(.placeOrder) { request, context in
            let userID = try context.requireUserID()
            var request = request
            let body = try await request.decodeJSON(NewOrderBody.self, context: context)
            let order = try OrderRequest(
                productID: body.productID, quantity: body.quantity, userID: userID,
                idempotencyKey: request.headers[.idempotencyKey])
            let placed = try await store.placeOrder(order)
            return EditedResponse(
                status: .created, headers: placed.replayed ? [.idempotentReplayed: "true"] : [:],
                response: OrderResponse(placed.order))
        }
        routes.on(.listOrders) { _, context in
            let userID = try context.requireUserID()
            return OrderListResponse(orders: try await store.orders(userID: userID).map(OrderResponse.init))
        }
        for action in OrderAction.allCases {
            routes.on(.orderTransition(action)) { request, context in
                let userID = try context.requireUserID()
                let id = try request.pathID("id", context: context)
                return OrderResponse(try await store.advanceOrder(id: id, userID: userID, action: action))
            }
        }
    }
}
