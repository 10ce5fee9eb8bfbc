/// An instant with millisecond precision, written as ISO-8601 UTC (`2024-06-15T14:32:00.000Z`).
///
/// Parsing accepts any ISO-8601 / RFC 3339 offset (`Z`, `+02:00`, `-0530`, `+05`)
/// and any number of fraction digits; comparison is by instant, never by text.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    /// The Unix epoch, used to backfill records that never had a timestamp.
    public static let epoch = Timestamp(milliseconds: 0)

    static let minimum = Timestamp(milliseconds: -62_135_596_800_000)  // 0001-01-01
    static let maximum = Timestamp(milliseconds: 253_402_300_799_999)  // 9999-12-31T23:59:59.999Z

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.milliseconds < rhs.milliseconds
    }

    /// This instant moved by `ms` milliseconds.
    public func adding(milliseconds ms: Int64) -> Timestamp {
        Timestamp(milliseconds: milliseconds + ms)
    }

    public var description: String { iso8601 }

    /// The canonical rendering, e.g. `2024-06-15T14:32:00.000Z`.
    public var iso8601: String {
        let clamped = min(max(self, .minimum), .maximum).milliseconds
        var days = clamped / 86_400_000
        var msOfDay = clamped % 86_400_000
        if msOfDay < 0 {
            msOfDay += 86_400_000
            days -= 1
        }
        let (y, m, d) = Timestamp.civil(fromDays: days)
        return String(unsafeUninitializedCapacity: 24) { out in
            func put(_ value: Int64, at end: Int, width: Int) {
                var x = value
                for k in stride(from: end, to: end - width, by: -1) {
                    out[k] = UInt8(ascii: "0") + UInt8(x % 10)
                    x /= 10
                }
            }
            out[4] = UInt8(ascii: "-")
            out[7] = UInt8(ascii: "-")
            out[10] = UInt8(ascii: "T")
            out[13] = UInt8(ascii: ":")
            out[16] = UInt8(ascii: ":")
            out[19] = UInt8(ascii: ".")
            out[23] = UInt8(ascii: "Z")
            put(y, at: 3, width: 4)
            put(m, at: 6, width: 2)
            put(d, at: 9, width: 2)
            put(msOfDay / 3_600_000, at: 12, width: 2)
            put(msOfDay / 60_000 % 60, at: 15, width: 2)
            put(msOfDay / 1000 % 60, at: 18, width: 2)
            put(msOfDay % 1000, at: 22, width: 3)
            return 24
        }
    }

    /// Parses an ISO-8601 date-time with an explicit offset; `nil` when it is not one.
    public init?(iso8601 text: String) {
        let parsed = text.utf8.withContiguousStorageIfAvailable { Timestamp.parse($0) }
        guard let ms = parsed ?? Array(text.utf8).withUnsafeBufferPointer({ Timestamp.parse($0) }) else { return nil }
        self.milliseconds = ms
    }

    private static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        func num(_ width: Int) -> Int64? {
            guard i + width <= b.count else { return nil }
            var v: Int64 = 0
            for k in i..<(i + width) {
                guard b[k] >= 0x30 && b[k] <= 0x39 else { return nil }
                v = v * 10 + Int64(b[k] - 0x30)
            }
            i += width
            return v
        }
        func expect(_ c: Unicode.Scalar) -> Bool {
            guard i < b.count, b[i] == UInt8(ascii: c) else { return false }
            i += 1
            return true
        }
        guard let year = num(4), expect("-"), let month = num(2), expect("-"), let day = num(2) else { return nil }
        guard i < b.count, b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == UInt8(ascii: " ")
        else { return nil }
        i += 1
        guard let hour = num(2), expect(":"), let minute = num(2) else { return nil }
        var second: Int64 = 0
        var millis: Int64 = 0
        if expect(":") {
            guard let sec = num(2) else { return nil }
            second = sec
            if i < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",") {
                i += 1
                var digits = 0
                while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                    if digits < 3 { millis = millis * 10 + Int64(b[i] - 0x30) }
                    digits += 1
                    i += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<max(digits, 3) { millis *= 10 }
            }
        }
        guard i < b.count else { return nil }
        var offsetMinutes: Int64 = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = num(2), oh <= 23 else { return nil }
            var om: Int64 = 0
            if i < b.count {
                _ = expect(":")
                guard let m = num(2), m <= 59 else { return nil }
                om = m
            }
            offsetMinutes = sign * (oh * 60 + om)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour <= 24, minute <= 59, second <= 60
        else { return nil }
        if hour == 24 && (minute != 0 || second != 0 || millis != 0) { return nil }
        if second == 60 {
            second = 59
            millis = 999
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let local = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
        return local - offsetMinutes * 60_000
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
