import Foundation

extension KeyedDecodingContainer {
    /// Decodes an integer field, reporting a fractional or out-of-range number against its key.
    ///
    /// Foundation's decoder reports `2.5` or `1e30` for an `Int` as corruption of the whole document, with no
    /// coding path, which would read as "not JSON". Decoding it here lets the error name the field (422, not 400).
    func decodeWholeNumber<Integer: FixedWidthInteger & Decodable>(
        _ type: Integer.Type, forKey key: Key
    ) throws
        -> Integer
    {
        do {
            return try decode(type, forKey: key)
        } catch DecodingError.dataCorrupted where (try? decode(Double.self, forKey: key)) != nil {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "must be a whole number between \(Integer.min) and \(Integer.max)")
        }
    }
}
