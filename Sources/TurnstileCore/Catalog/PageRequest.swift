/// A validated request for one page of a list.
public struct PageRequest: Equatable, Sendable {
    /// The page number, from 1.
    public let page: Int
    /// How many items a page holds.
    public let pageSize: Int

    /// Validates a page request; absent values take their defaults (page 1, ``Limits/pageSizeDefault``).
    public init(page: Int? = nil, pageSize: Int? = nil) throws(TurnstileError) {
        let page = page ?? 1
        let pageSize = pageSize ?? Limits.pageSizeDefault
        try Validate.number(page, field: "page", in: 1...Limits.pageNumberMax)
        try Validate.number(pageSize, field: "page_size", in: 1...Limits.pageSizeMax)
        self.page = page
        self.pageSize = pageSize
    }

    /// How many items come before this page.
    public var offset: Int { (page - 1) * pageSize }
}

/// One page of a list, and how many items the whole list holds.
public struct Page<Item: Sendable>: Sendable {
    public let items: [Item]
    public let total: Int
    public let request: PageRequest

    public init(items: [Item], total: Int, request: PageRequest) {
        self.items = items
        self.total = total
        self.request = request
    }
}
