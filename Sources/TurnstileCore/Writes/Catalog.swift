/// Creates an event with all its seats available.
public struct CreateEvent: WriteOperation {
    public let event: NewEvent
    public let organizerID: Int64

    public init(_ event: NewEvent, organizerID: Int64) {
        self.event = event
        self.organizerID = organizerID
    }

    public var actingUserID: Int64? { organizerID }

    public func apply(to plan: inout BatchPlan) -> Result<Event, TurnstileError> {
        let created = Event(
            id: plan.inputs.nextIDs.take(\.event), title: event.title, description: event.description,
            date: event.date, location: event.location, seatCount: event.seatCount, availableSeats: event.seatCount,
            organizerID: organizerID, createdAt: plan.inputs.now, seatsPerUserMax: event.seatsPerUserMax)
        plan.effects.events.append(created)
        plan.allocator.add(
            .seats(eventID: created.id),
            balance: ResourceBalance(capacity: created.seatCount, remaining: created.seatCount))
        plan.inputs.waitlists[created.id] = []
        plan.inputs.seatsPerUserMax[created.id] = created.seatsPerUserMax
        return .success(created)
    }
}

/// Creates a product with all its stock available. Refused with ``TurnstileError/skuTaken(sku:)``.
public struct CreateProduct: WriteOperation {
    public let product: NewProduct
    public let userID: Int64

    public init(_ product: NewProduct, userID: Int64) {
        self.product = product
        self.userID = userID
    }

    public var actingUserID: Int64? { userID }

    public func need(_ needs: inout BatchPlan.Needs) {
        needs.skus.insert(product.sku)
    }

    public func apply(to plan: inout BatchPlan) -> Result<Product, TurnstileError> {
        guard plan.inputs.takenSKUs.insert(product.sku).inserted else {
            return .failure(.skuTaken(sku: product.sku))
        }
        let created = Product(
            id: plan.inputs.nextIDs.take(\.product), sku: product.sku, name: product.name,
            priceCents: product.priceCents, stockTotal: product.stock, stock: product.stock,
            createdAt: plan.inputs.now)
        plan.effects.products.append(created)
        plan.inputs.products[created.id] = created
        plan.allocator.add(
            created.resource, balance: ResourceBalance(capacity: product.stock, remaining: product.stock))
        return .success(created)
    }
}

/// Puts an item up for auction.
public struct CreateItem: WriteOperation {
    public let item: NewItem
    public let sellerID: Int64

    public init(_ item: NewItem, sellerID: Int64) {
        self.item = item
        self.sellerID = sellerID
    }

    public var actingUserID: Int64? { sellerID }

    public func apply(to plan: inout BatchPlan) -> Result<Item, TurnstileError> {
        let created = Item(
            id: plan.inputs.nextIDs.take(\.item), sellerID: sellerID, title: item.title,
            startingPriceCents: item.startingPriceCents, minIncrementCents: item.minIncrementCents,
            endsAt: item.endsAt, createdAt: plan.inputs.now)
        plan.inputs.items[created.id] = created
        plan.effects.items[created.id] = created
        return .success(created)
    }
}
