/// Turns a booking id into a short, unique, hard-to-guess-looking reference such as `EVT-7K2Q9X`.
///
/// References are derived, never stored: the id is scrambled by a bijection on 30 bits (so distinct ids give distinct
/// references and consecutive ids look unrelated) and written in Crockford's base 32, which has no I, L, O or U to
/// misread. Ids below 2³⁰ give six characters; larger ids give longer references, so uniqueness holds for every id.
public enum BookingReference {
    /// The prefix every booking reference starts with.
    public static let prefix = "EVT-"

    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    private static let scrambledBits = 30
    private static let mask: UInt64 = (1 << 30) - 1

    /// The reference for the booking with id `id` (which must not be negative).
    public static func make(id: Int64) -> String {
        precondition(id >= 0, "booking ids are never negative")
        let value = UInt64(id)
        let digits: UInt64
        let count: Int
        if value <= mask {
            digits = scramble(value)
            count = scrambledBits / 5
        } else {
            digits = value
            count = (64 - value.leadingZeroBitCount + 4) / 5
        }
        var characters = [UInt8](repeating: 0, count: count)
        var rest = digits
        for index in stride(from: count - 1, through: 0, by: -1) {
            characters[index] = alphabet[Int(rest & 31)]
            rest >>= 5
        }
        return prefix + String(decoding: characters, as: UTF8.self)
    }

    /// A bijection on 30-bit values: odd multipliers are invertible modulo 2³⁰, and so is `x ^ (x >> k)`.
    private static func scramble(_ value: UInt64) -> UInt64 {
        var x = value
        x = (x &* 0x2F0A_3B67) & mask
        x ^= x >> 15
        x = (x &* 0x1B87_3593) & mask
        x ^= x >> 13
        return x
    }
}
