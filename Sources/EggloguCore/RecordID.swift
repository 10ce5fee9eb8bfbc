/// Record ids in the app's `genId()` style: `Date.now().toString(36)` plus five random base-36 characters.
public enum RecordID {
    private static let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz")

    /// A new id for a record created at `now`.
    public static func generate(now: Timestamp, using random: inout some RandomNumberGenerator) -> String {
        var ms = max(now.milliseconds, 0)
        var head: [Character] = []
        repeat {
            head.append(digits[Int(ms % 36)])
            ms /= 36
        } while ms > 0
        let tail = (0..<5).map { _ in digits[Int.random(in: 0..<36, using: &random)] }
        return String(head.reversed()) + String(tail)
    }

    /// A new id from the system random generator.
    public static func generate(now: Timestamp) -> String {
        var rng = SystemRandomNumberGenerator()
        return generate(now: now, using: &rng)
    }
}
