import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A small shop whose API looks nothing like Turnstile's: its own paths (no `/api/v1`), field names, status codes
/// and auth header, and a bare JSON array for a user's purchases. The tutorial in `docs/scenarios.md` writes its
/// scenario, `docs/examples/shop.yaml`, for this API; the tests run that file against it, sound and broken.
///
/// - `POST /signup {"login", "secret"}` → 201 `{"user": {"uid"}}`; 409 when the login exists.
/// - `POST /token {"login", "secret"}` → 200 `{"jwt"}`.
/// - `POST /shop/items {"sku", "units"}` → 200 `{"item": {"sku", "units_left"}}`; 409 when the sku exists.
/// - `GET /shop/items/{sku}` → 200 `{"item": {"sku", "units_left"}}`.
/// - `POST /shop/items/{sku}/purchase {"count"}`, `X-Auth: <jwt>` → 200 `{"purchase": {"ref", "count"}}`, or 410
///   `{"reason": "sold out"}`.
/// - `GET /shop/purchases`, `X-Auth: <jwt>` → 200 `[{"ref", "sku", "count"}]`.
/// - `GET /shop/items/{sku}/sales` → 200 `text/event-stream`: a comment line, then `event: sale` with
///   `data: {"purchase": {"ref", "sku", "count"}}` for every sale of the item from then on.
public struct ForeignShop: Sendable {
    /// What is wrong with it, if anything.
    public enum Defect: Sendable {
        /// A purchase reads the units left, waits until every buyer's purchase has read, then writes what it read:
        /// the read-pause-write race, made deterministic by a gate on a count. Every buyer sees the full stock.
        case oversells
        /// It answers 200 to a purchase that fits and takes the units, but never stores the purchase: acknowledged
        /// writes are lost.
        case losesPurchases
    }

    public let port: Int

    /// How the shop treats accounts: the CPU a sign-up or log-in costs on its one worker (calls queue behind each
    /// other), and how many sign-ups are stored but answered 503, as when a proxy loses the answer.
    public struct Accounts: Sendable {
        public var callCost: Duration
        public var lostSignUpAnswers: Int

        public init(callCost: Duration = .zero, lostSignUpAnswers: Int = 0) {
            self.callCost = callCost
            self.lostSignUpAnswers = lostSignUpAnswers
        }
    }

    /// Runs `body` against a shop; `buyers` is how many purchases an overselling one waits for.
    public static func with<Result: Sendable>(
        defect: Defect? = nil, buyers: Int = 0, accounts: Accounts = .init(),
        _ body: @Sendable (ForeignShop) async throws -> Result
    ) async throws -> Result {
        let shop = ShopState(defect: defect, buyers: buyers, accounts: accounts)
        let router = Router()
        router.post("signup") { request, context in
            guard isJSON(request) else { return try refusal("send JSON") }
            let body = try await request.decode(as: [String: String].self, context: context)
            guard let login = plain(body["login"]), let secret = plain(body["secret"]) else {
                return try refusal("a login and a secret of 1 to 64 printable characters")
            }
            switch await shop.signUp(login: login, secret: secret) {
            case .created(let uid): return try ImitationTarget.json(["user": ["uid": uid]], status: .created)
            case .taken: return try ImitationTarget.json(["reason": "login taken"], status: .conflict)
            case .answerLost: return try ImitationTarget.json(["reason": "bad gateway"], status: .serviceUnavailable)
            }
        }
        router.post("token") { request, context in
            guard isJSON(request) else { return try refusal("send JSON") }
            let body = try await request.decode(as: [String: String].self, context: context)
            guard let login = plain(body["login"]), let secret = plain(body["secret"]) else {
                return try refusal("a login and a secret of 1 to 64 printable characters")
            }
            guard let jwt = await shop.token(login: login, secret: secret) else {
                return try ImitationTarget.json(["reason": "wrong login or secret"], status: .unauthorized)
            }
            return try ImitationTarget.json(["jwt": jwt])
        }
        router.post("shop/items") { request, context in
            guard isJSON(request) else { return try refusal("send JSON") }
            let body = try await request.decode(as: NewItem.self, context: context)
            guard let sku = plain(body.sku), (1...1_000_000).contains(body.units) else {
                return try refusal("a sku of 1 to 64 printable characters and 1 to 1,000,000 units")
            }
            guard let item = await shop.addItem(sku: sku, units: body.units) else {
                return try ImitationTarget.json(["reason": "that sku exists"], status: .conflict)
            }
            return try ImitationTarget.json(["item": item])
        }
        router.get("shop/items/:sku") { _, context in
            let sku = try context.parameters.require("sku")
            guard let item = await shop.item(sku) else {
                return try ImitationTarget.json(["reason": "no such item"], status: .notFound)
            }
            return try ImitationTarget.json(["item": item])
        }
        router.post("shop/items/:sku/purchase") { request, context in
            guard let user = await shop.user(token: request.headers[HTTPField.Name("X-Auth")!] ?? "") else {
                return try ImitationTarget.json(["reason": "who are you?"], status: .unauthorized)
            }
            guard isJSON(request) else { return try refusal("send JSON") }
            let body = try await request.decode(as: [String: Int].self, context: context)
            guard let count = body["count"], (1...10).contains(count) else { return try refusal("a count of 1 to 10") }
            let sku = try context.parameters.require("sku")
            guard let purchase = await shop.purchase(user: user, sku: sku, count: count) else {
                return try ImitationTarget.json(["reason": "sold out"], status: .gone)
            }
            return try ImitationTarget.json(["purchase": purchase])
        }
        router.get("shop/items/:sku/sales") { _, context in
            let sku = try context.parameters.require("sku")
            guard await shop.item(sku) != nil else {
                return try ImitationTarget.json(["reason": "no such item"], status: .notFound)
            }
            // Watching before the answer goes out: once a watcher has the answer's head, it misses no sale.
            let sales = await shop.watch(sku)
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: ": watching \(sku)\n\n"))
                    for await sale in sales { try await writer.write(ByteBuffer(string: sale)) }
                    try await writer.finish(nil)
                })
        }
        router.get("shop/purchases") { request, _ in
            guard let user = await shop.user(token: request.headers[HTTPField.Name("X-Auth")!] ?? "") else {
                return try ImitationTarget.json(["reason": "who are you?"], status: .unauthorized)
            }
            return try await ImitationTarget.json(shop.purchases(user: user))
        }

        return try await ImitationTarget.serve(router, label: "foreign-shop") { port in
            // The feeds end before the server stops: it would otherwise wait for every stream to finish.
            do {
                let result = try await body(ForeignShop(port: port))
                await shop.endFeeds()
                return result
            } catch {
                await shop.endFeeds()
                throw error
            }
        }
    }

    /// What the shop takes as a login, a secret or a sku: 1 to 64 printable characters, nothing invisible.
    private static func plain(_ text: String?) -> String? {
        guard let text, (1...64).contains(text.count),
            text.unicodeScalars.allSatisfy({ scalar in
                scalar.value >= 0x20 && scalar.value != 0x7F && !(0x200B...0x202E).contains(scalar.value)
                    && scalar.value != 0xFEFF
            })
        else { return nil }
        return text
    }

    private static func isJSON(_ request: Request) -> Bool {
        request.headers[.contentType]?.hasPrefix("application/json") == true
    }

    private static func refusal(_ reason: String) throws -> Response {
        try ImitationTarget.json(["reason": reason], status: .badRequest)
    }

    private struct NewItem: Decodable {
        let sku: String
        let units: Int
    }
}

/// The shop's state. An actor, so every step is atomic, except across the `await` in an overselling `purchase`:
/// that suspension is the bug on purpose.
private actor ShopState {
    private let defect: ForeignShop.Defect?
    private var accounts: [String: (uid: Int, secret: String)] = [:]
    private var units: [String: Int] = [:]
    private var purchasesByUser: [Int: [[String: any Sendable]]] = [:]
    private var nextReference = 1
    private let gate: ArrivalGate
    /// Each item's watchers: the sales feed's streams.
    private var watchers: [String: [AsyncStream<String>.Continuation]] = [:]

    private let costs: ForeignShop.Accounts
    private var lostAnswers = 0
    private var busyUntil = ContinuousClock.now

    init(defect: ForeignShop.Defect?, buyers: Int, accounts: ForeignShop.Accounts) {
        self.defect = defect
        self.costs = accounts
        gate = ArrivalGate(count: buyers)
    }

    enum SignUp {
        case created(Int)
        case taken
        case answerLost
    }

    func signUp(login: String, secret: String) async -> SignUp {
        await work()
        guard accounts[login] == nil else { return .taken }
        accounts[login] = (accounts.count + 1, secret)
        if lostAnswers < costs.lostSignUpAnswers {
            lostAnswers += 1
            return .answerLost
        }
        return .created(accounts.count)
    }

    /// Spends the call's cost on the one worker: each call finishes `callCost` after the one before it.
    private func work() async {
        guard costs.callCost > .zero else { return }
        let finish = max(ContinuousClock.now, busyUntil) + costs.callCost
        busyUntil = finish
        try? await Task.sleep(until: finish)
    }

    func token(login: String, secret: String) async -> String? {
        await work()
        guard let account = accounts[login], account.secret == secret else { return nil }
        return "jwt-\(account.uid)"
    }

    func user(token: String) -> Int? {
        guard token.hasPrefix("jwt-"), let uid = Int(token.dropFirst(4)) else { return nil }
        return uid
    }

    /// Adds an item; nil when its sku is taken (an item's stock is never reset by adding it again).
    func addItem(sku: String, units count: Int) -> [String: any Sendable]? {
        guard units[sku] == nil else { return nil }
        units[sku] = count
        return ["sku": sku, "units_left": count]
    }

    func item(_ sku: String) -> [String: any Sendable]? {
        units[sku].map { ["sku": sku, "units_left": $0] }
    }

    func purchase(user: Int, sku: String, count: Int) async -> [String: any Sendable]? {
        let left = units[sku] ?? 0
        if defect == .oversells {
            // Read, pause until every buyer has read, then write what was read: a lost update for all but the last.
            await gate.arrive()
        }
        guard left >= count else { return nil }
        let reference = "p-\(nextReference)"
        nextReference += 1
        units[sku] = left - count
        let sale = ["purchase": ["ref": reference, "sku": sku, "count": count] as [String: any Sendable]]
        if let data = try? JSONSerialization.data(withJSONObject: sale) {
            let event = "event: sale\ndata: \(String(decoding: data, as: UTF8.self))\n\n"
            for watcher in watchers[sku] ?? [] { watcher.yield(event) }
        }
        if defect == .losesPurchases { return ["ref": reference, "count": count] }
        purchasesByUser[user, default: []].append(["ref": reference, "sku": sku, "count": count])
        return ["ref": reference, "count": count]
    }

    /// A new watcher of `sku`'s sales; its stream ends when the shop stops.
    func watch(_ sku: String) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        watchers[sku, default: []].append(continuation)
        return stream
    }

    func endFeeds() {
        for continuation in watchers.values.joined() { continuation.finish() }
        watchers = [:]
    }

    func purchases(user: Int) -> [[String: any Sendable]] { purchasesByUser[user] ?? [] }
}
