import EggloguCore
import EggloguJSON
import EggloguStore

/// `last_synced_at` in every form the app's backend accepted (pydantic's `datetime`).
enum LegacyTime {
    /// The client's position, or `nil` when the value is no date-time at all.
    ///
    /// Accepted: `null`; ISO-8601 date-times with `Z`, an offset, or none (UTC), with or without
    /// seconds and fractions, `T` or a space between date and time; a bare date (midnight UTC);
    /// Unix time as a number or a numeric string, in seconds, or milliseconds beyond 2×10¹⁰.
    static func since(_ value: JSONValue) -> LegacySince? {
        switch value {
        case .null:
            return .never
        case .number(let number):
            return unix(number.doubleValue).map { .client(text: nil, time: $0) }
        case .string(let text):
            if let time = Timestamp(iso8601: text) ?? Timestamp(iso8601: text + "Z") ?? Timestamp(iso8601: text + "T00:00:00Z") {
                return .client(text: text, time: time)
            }
            return Double(text).flatMap(unix).map { .client(text: nil, time: $0) }
        default:
            return nil
        }
    }

    private static func unix(_ value: Double) -> Timestamp? {
        guard value.isFinite else { return nil }
        let milliseconds = abs(value) > 2e10 ? value : value * 1000
        guard abs(milliseconds) < 253_402_300_799_999 else { return nil }
        return Timestamp(milliseconds: Int64(milliseconds.rounded(.down)))
    }
}
