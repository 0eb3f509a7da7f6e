import Testing

@testable import TurnstileCore

@Suite("BookingReference")
struct BookingReferenceTests {
    @Test("references look like EVT-XXXXXX in Crockford base 32")
    func format() {
        let allowed = Set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        for id: Int64 in [0, 1, 2, 1_000, 999_999, (1 << 30) - 1] {
            let reference = BookingReference.make(id: id)
            #expect(reference.hasPrefix("EVT-"))
            #expect(reference.count == 10, "\(reference)")
            #expect(reference.dropFirst(4).allSatisfy(allowed.contains), "\(reference)")
        }
    }

    @Test("the first 2^20 ids give distinct references, and consecutive ids do not look consecutive")
    func unique() {
        var seen = Set<String>()
        for id in Int64(0)..<(1 << 20) { seen.insert(BookingReference.make(id: id)) }
        #expect(seen.count == 1 << 20)
        #expect(
            BookingReference.make(id: 1).dropFirst(4).prefix(3) != BookingReference.make(id: 2).dropFirst(4).prefix(3))
    }

    @Test("ids beyond 30 bits give longer references, distinct from the short ones")
    func largeIDs() {
        let large = BookingReference.make(id: 1 << 30)
        #expect(large.count > 10)
        #expect(BookingReference.make(id: Int64.max).count == 4 + 13)
        #expect(BookingReference.make(id: (1 << 30) + 1) != large)
    }
}
