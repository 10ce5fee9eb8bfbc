import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A line of progress on standard error for long work (an import, a first sync): records and
/// bytes done, the rate, and the time left when the total is known.
///
/// It draws only on a terminal, at most ten times a second, and only once the work has run for a
/// third of a second, so quick commands and scripts see nothing.
public final class ProgressLine: Sendable {
    private struct State {
        var lastDraw: UInt64 = 0
        var drawn = false
    }

    private let label: String
    private let enabled: Bool
    private let started = DispatchTime.now().uptimeNanoseconds
    private let state = Mutex(State())

    /// - Parameter enabled: whether to draw at all; by default, whether standard error is a terminal.
    public init(_ label: String, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.enabled = enabled
    }

    /// Seconds since the line was made.
    public var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }

    /// Redraws the line (when due) with `done` of `total` records and `bytes` of `totalBytes`.
    public func update(done: Int, total: Int?, bytes: Int, totalBytes: Int? = nil) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let due = state.withLock { state -> Bool in
            guard now - started > 333_000_000, now - state.lastDraw > 100_000_000 else { return false }
            state.lastDraw = now
            state.drawn = true
            return true
        }
        guard due else { return }
        let text = Self.describe(label: label, done: done, total: total, bytes: bytes, totalBytes: totalBytes, seconds: elapsed)
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
    }

    /// Clears the line, if one was drawn, so the command's own report follows on a clean line.
    public func finish() {
        guard enabled, state.withLock({ $0.drawn }) else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    /// The line's text: `importing  120,000 / 186,000 records  14.2 / 22.0 MB  95,000 records/s  0.7 s left`.
    public static func describe(label: String, done: Int, total: Int?, bytes: Int, totalBytes: Int?, seconds: Double) -> String {
        var parts = [label]
        parts.append(total.map { "\(grouped(done)) / \(grouped(max($0, done))) records" } ?? "\(grouped(done)) records")
        parts.append(totalBytes.map { "\(megabytes(bytes)) / \(megabytes($0)) MB" } ?? "\(megabytes(bytes)) MB")
        let rate = seconds > 0 ? Double(done) / seconds : 0
        parts.append("\(grouped(Int(rate))) records/s")
        if let total, rate > 0 {
            parts.append(String(format: "%.1f s left", Double(max(0, total - done)) / rate))
        }
        return parts.joined(separator: "  ")
    }

    private static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    private static func megabytes(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }
}
