import HTTPTypes
import Hummingbird
import TurnstileCore
import TurnstileStore
import TurnstileWire

/// The caller's credit account: `GET /credits/balance`, `POST /credits/topup`, `POST /credits/deduct` (a claim on
/// the balance, with `Idempotency-Key`) and `GET /credits/transactions`, all authenticated.
struct CreditRoutes<Store: TurnstileStore> {
    let store: Store

    func register(on routes: EndpointRoutes) {
        routes.on(.balance) { _, context in
            BalanceResponse(try await store.creditAccount(userID: try context.requireUserID()))
        }
        routes.on(.transactions) { _, context in
            let entries = try await store.ledger(userID: try context.requireUserID())
            return TransactionListResponse(transactions: entries.map(LedgerEntryResponse.init))
        }
        routes.on(.topUp) { request, context in
            let userID = try context.requireUserID()
            var request = request
            let body = try await request.decodeJSON(TopUpBody.self, context: context)
            let (entry, account) = try await store.topUp(try TopUpRequest(userID: userID, amount: body.amount))
            return CreditChangeResponse(transaction: LedgerEntryResponse(entry), account: BalanceResponse(account))
        }
        routes.on(.deduct) { request, context in
            let userID = try context.requireUserID()
            var request = request
            let body = try await request.decodeJSON(DeductBody.self, context: context)
            let deduction = try DeductionRequest(
                userID: userID, amount: body.amount, reason: body.reason,
                idempotencyKey: request.headers[.idempotencyKey])
            let result = try await store.deduct(deduction)
            return EditedResponse(
                status: .ok, headers: result.replayed ? [.idempotentReplayed: "true"] : [:],
                response: CreditChangeResponse(
                    transaction: LedgerEntryResponse(result.entry), account: BalanceResponse(result.account)))
        }
    }
}
