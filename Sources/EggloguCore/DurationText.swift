import Foundation

/// Durations as people type them: `90s`, `30m`, `24h`, `7d`, `2w`, or plain seconds.
public enum DurationText {
    /// The duration in seconds, or `nil` when `text` is not one (negative, empty, unknown unit, over ten years).
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let last = trimmed.last else { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]
        let (number, unit) = last.isLetter ? (String(trimmed.dropLast()), units[last]) : (trimmed, 1)
        guard let unit, let value = Double(number), value.isFinite, value >= 0 else { return nil }
        let seconds = value * unit
        return seconds <= 10 * 365 * 86_400 ? seconds : nil
    }
}

extension Duration {
    /// The whole milliseconds of this duration (truncated), for stores that count in milliseconds.
    public var wholeMilliseconds: Int64 { components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000 }
}
