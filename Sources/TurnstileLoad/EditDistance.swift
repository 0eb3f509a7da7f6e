/// How far apart two words are, for "did you mean" in messages: a misspelt command, flag, key or name.
public enum EditDistance {
    /// The Levenshtein distance: the fewest insertions, deletions and substitutions that turn `a` into `b`.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in 1...b.count {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }

    /// The candidate closest to `word`, when it is at most `within` edits away (the first of equals); nil otherwise.
    public static func nearest(to word: String, among candidates: [String], within: Int = 2) -> String? {
        let scored = candidates.map { ($0, distance(word, $0)) }.min { $0.1 < $1.1 }
        guard let (candidate, distance) = scored, distance <= within else { return nil }
        return candidate
    }
}
