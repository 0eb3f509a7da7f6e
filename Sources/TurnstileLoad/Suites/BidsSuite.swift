import Foundation
import NIOCore
import TurnstileReport

/// Auctions: many bidders on one item at once, in rounds.
///
/// Each round releases one bid from every bidder at the same instant, each a different amount above everything bid
/// before, so the server decides which become the highest. Afterwards the accepted bids, read back, strictly
/// increase by at least the increment and are numbered 1…n; the item's highest bid is the largest accepted and its
/// bid count the number accepted. Reports bids answered per second on the one contested item.
public struct BidsSuite: Sendable {
    public struct Contest: Sendable, Equatable {
        public var bidders: Int
        public var rounds: Int

        public init(bidders: Int, rounds: Int) {
            self.bidders = bidders
            self.rounds = rounds
        }

        public var name: String { "bids \(bidders)×\(rounds)" }
    }

    public static let classic = Contest(bidders: 100, rounds: 5)
    /// The endpoint names its statistics use, for thresholds.
    public static let endpoints = ["bid"]
    static let startingPriceCents = 100
    static let incrementCents = 1

    public let context: SuiteContext

    public init(_ context: SuiteContext) {
        self.context = context
    }

    public func run(_ contest: Contest, users: [VirtualUser], into report: inout RunReport) async throws {
        let bidders = Array(users.prefix(contest.bidders))
        context.progress?.note("\(contest.name): \(bidders.count) bidders on one item, \(contest.rounds) rounds")
        let session = context.session()
        // A seller of its own: a seller may not bid on their own item.
        let seller = try await context.provision(1)[0]
        let item = try await session.call(
            TurnstileAPI.createItem(
                title: contest.name, startingPriceCents: Self.startingPriceCents,
                minIncrementCents: Self.incrementCents, token: seller.token),
            expecting: 201, as: TurnstileAPI.Item.self)

        var phase: PhaseReport?
        var accepted: [Int] = []
        var answered = 0
        var other = 0
        for round in 0..<contest.rounds {
            // Every amount of this round is above every amount of the rounds before.
            let amounts = bidders.indices.map {
                Self.startingPriceCents + (round * bidders.count + $0) * Self.incrementCents
            }
            let (roundPhase, responses) = try await BarrierExecutor(timeouts: context.timeouts).run(
                contest.name,
                requests: zip(bidders, amounts).map {
                    TurnstileAPI.bid(itemID: item.id, amountCents: $1, token: $0.token)
                },
                target: context.target, group: context.group)
            if phase == nil { phase = roundPhase } else { phase?.add(roundPhase) }
            try Seen(responses).requireCarriedOut(contest.name)
            for (response, amount) in zip(responses, amounts) {
                guard let status = try? response.get().status else { continue }
                answered += 1
                if status == 201 { accepted.append(amount) } else if status != 409 { other += 1 }
            }
        }
        guard let phase else { return }
        report.phases.append(phase)

        let stored = try await session.call(
            TurnstileAPI.bids(itemID: item.id), expecting: 200, as: TurnstileAPI.Bids.self
        ).bids
        let final = try await session.call(TurnstileAPI.item(item.id), expecting: 200, as: TurnstileAPI.Item.self)
        let amounts = stored.map(\.amountCents)
        let name = contest.name
        report.invariants += [
            .equal(other, 0, phase: name, rule: "every answer is a 201 or a 409 bid_too_low"),
            .equal(stored.count, accepted.count, phase: name, rule: "stored bids = 201s: none lost, no phantom"),
            .equal(
                zip(amounts, amounts.dropFirst()).allSatisfy { $0 + Self.incrementCents <= $1 }, true, phase: name,
                rule: "accepted bids strictly increase by at least the increment"),
            .equal(
                stored.map(\.seq) == Array(1..<(stored.count + 1)), true, phase: name,
                rule: "accepted bids are numbered 1…n"),
            .equal(
                final.currentBidCents ?? 0, accepted.max() ?? 0, phase: name,
                rule: "the item's highest bid = the largest accepted"),
            .equal(final.bidCount, accepted.count, phase: name, rule: "the item's bid count = bids accepted"),
        ]
        let rate = Double(answered) / max(phase.durationSeconds, 1e-9)
        report.notes.append(
            "\(name): \(answered) bids answered in \(Format.fixed(phase.durationSeconds, digits: 2)) s on one item "
                + "(\(Format.rate(rate))), \(accepted.count) accepted")
    }
}
