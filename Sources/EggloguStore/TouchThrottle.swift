import Foundation
import Synchronization

/// Decides when a device's last-seen time is worth writing: at most once a minute per device, so
/// a busy device does not cost a durable write per request. Both device directories use it.
public final class TouchThrottle: Sendable {
    private let lastWritten = Mutex<[String: Date]>([:])

    public init() {}

    /// Whether `farm`/`device` seen at `now` should be written; when it is, the write is noted.
    public func isDue(farm: String, device: String, at now: Date) -> Bool {
        lastWritten.withLock { written in
            let key = Self.key(farm, device)
            if let last = written[key], now.timeIntervalSince(last) < 60 { return false }
            if written.count >= 4_096 { written = written.filter { now.timeIntervalSince($0.value) < 60 } }
            written[key] = now
            return true
        }
    }

    /// Forgets a write that failed, so the next request tries again.
    public func failed(farm: String, device: String) {
        _ = lastWritten.withLock { $0.removeValue(forKey: Self.key(farm, device)) }
    }

    private static func key(_ farm: String, _ device: String) -> String { farm + "\u{0}" + device }
}
