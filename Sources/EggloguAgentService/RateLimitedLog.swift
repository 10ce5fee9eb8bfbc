import Foundation
import Logging
import Synchronization

/// At most one log line per reason per interval; the line says how many were folded into it.
final class RateLimitedLog: Sendable {
    private let logger: Logger
    private let interval: TimeInterval
    private let state = Mutex<[String: (last: Date, suppressed: Int)]>([:])

    init(logger: Logger, interval: TimeInterval = 60) {
        self.logger = logger
        self.interval = interval
    }

    func notice(_ message: Logger.Message, reason: String, metadata: Logger.Metadata = [:]) {
        let now = Date()
        let suppressed: Int? = state.withLock { state in
            if let entry = state[reason], now.timeIntervalSince(entry.last) < interval {
                state[reason]!.suppressed += 1
                return nil
            }
            let count = state[reason]?.suppressed ?? 0
            state[reason] = (now, 0)
            return count
        }
        guard let suppressed else { return }
        var metadata = metadata
        metadata["reason"] = "\(reason)"
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.notice(message, metadata: metadata)
    }
}
