/// An order, and whether it answers a repeat of the request that placed it.
public struct OrderOutcome: Equatable, Sendable {
    public let order: Order
    public let replayed: Bool
}

/// Orders units through the allocator. Refused with ``TurnstileError/insufficientStock(requested:available:)``.
public struct PlaceOrder: ClaimOperation {
    public let request: OrderRequest

    public init(_ request: OrderRequest) {
        self.request = request
    }

    public var claim: Claim { request.claim }

    public func apply(to plan: inout BatchPlan) -> Result<OrderOutcome, TurnstileError> {
        plan.claim(self) { plan in
            let productID = claim.resource.id
            guard let product = plan.inputs.products[productID] else {
                preconditionFailure("a granted order's product was loaded with its stock")
            }
            let order = Order(
                id: plan.inputs.nextIDs.take(\.order), userID: claim.userID, productID: productID,
                quantity: claim.amount, totalCents: product.priceCents * claim.amount, status: .pending,
                createdAt: plan.inputs.now)
            plan.effects.orders[order.id] = order
            return (.order(order), OrderOutcome(order: order, replayed: false))
        }
    }

    public func replay(of grant: BatchPlan.GrantRecord, on plan: BatchPlan) -> OrderOutcome? {
        guard case .order(let order) = grant else { return nil }
        return OrderOutcome(
            order: plan.effects.orders[order.id] ?? plan.inputs.orders[order.id] ?? order, replayed: true)
    }
}

/// Moves one of the user's orders on; cancelling returns its units to stock. Refused with
/// ``TurnstileError/illegalTransition(entity:id:status:action:)`` when the order's state does not allow it.
public struct AdvanceOrder: WriteOperation {
    public let id: Int64
    public let userID: Int64
    public let action: OrderAction

    public init(id: Int64, userID: Int64, action: OrderAction) {
        self.id = id
        self.userID = userID
        self.action = action
    }

    public var actingUserID: Int64? { userID }

    public func need(_ needs: inout BatchPlan.Needs) {
        needs.orderIDs.insert(id)
    }

    public func apply(to plan: inout BatchPlan) -> Result<Order, TurnstileError> {
        guard let order = plan.effects.orders[id] ?? plan.inputs.orders[id], order.userID == userID else {
            return .failure(.notFound(entity: "order", id: id))
        }
        guard let status = order.status.after(action) else {
            return .failure(
                .illegalTransition(entity: "order", id: id, status: order.status.rawValue, action: action.rawValue))
        }
        if !status.holdsStock { plan.allocator.release(order.resource, amount: order.quantity) }
        let advanced = order.with(status: status)
        plan.effects.orders[id] = advanced
        return .success(advanced)
    }
}
