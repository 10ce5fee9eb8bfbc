import Foundation
import NIOCore
import Synchronization

/// Slows password guessing on the page, per client address: the first ``freeFailures`` wrong
/// passwords cost nothing, then each one locks the address out for twice as long as the last
/// (1 s, 2 s, 4 s, … up to ``longestLockout``). While locked out, a request is refused without its
/// password being checked, so guessing gains nothing. A right password clears the address's
/// record; a quiet ``forgetAfter`` forgets it. IPv6 clients are keyed by their /64, which one
/// host usually holds whole. Each attempt is counted before its password is compared
/// (``attempt(_:)``), so parallel guesses cannot all slip in before the first failure is recorded.
final class LoginThrottle: Sendable {
    /// What an attempt counted as a failure led to.
    struct Failure: Equatable {
        let failures: Int
        /// How long the address is now locked out (zero while failures are still free).
        let lockout: Duration
    }

    private struct Record {
        var failures = 0
        var lockedUntil: ContinuousClock.Instant?
        var lastFailure: ContinuousClock.Instant
    }

    static let freeFailures = 5
    static let longestLockout = Duration.seconds(300)
    /// Long enough that waiting for it earns a guesser no more than five free guesses a day.
    static let forgetAfter = Duration.seconds(86_400)
    /// Addresses remembered at most; the stalest are dropped first.
    static let capacity = 10_000

    private let records = Mutex<[String: Record]>([:])
    private let now: @Sendable () -> ContinuousClock.Instant

    init(now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.now = now
    }

    /// Refuses a locked-out `client`, or counts its attempt as a failure until ``succeeded(_:)``
    /// says the password was right: one step under one lock.
    func attempt(_ client: String) -> Result<Failure, LockedOut> {
        let now = self.now()
        return records.withLock { records in
            if let until = records[client]?.lockedUntil, until > now { return .failure(LockedOut(wait: until - now)) }
            return .success(Self.countFailure(of: client, in: &records, now: now))
        }
    }

    /// A refused attempt: the address is locked out for `wait` longer.
    struct LockedOut: Error, Equatable {
        let wait: Duration
    }

    private static func countFailure(of client: String, in records: inout [String: Record], now: ContinuousClock.Instant) -> Failure {
        if records[client] == nil, records.count >= Self.capacity { Self.evict(&records, now: now) }
        var record = records[client] ?? Record(lastFailure: now)
        if now - record.lastFailure > Self.forgetAfter { record.failures = 0 }
        record.failures += 1
        record.lastFailure = now
        var lockout = Duration.zero
        if record.failures > Self.freeFailures {
            let doublings = min(record.failures - Self.freeFailures - 1, 16)
            lockout = min(.seconds(1 << doublings), Self.longestLockout)
            record.lockedUntil = now + lockout
        }
        records[client] = record
        return Failure(failures: record.failures, lockout: lockout)
    }

    /// A right password from `client`: its failures are forgotten.
    func succeeded(_ client: String) {
        _ = records.withLock { $0.removeValue(forKey: client) }
    }

    /// The key of an address: the IP, or its /64 for IPv6; `unknown` when there is none.
    static func key(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress else { return "unknown" }
        guard case .v6 = address, !ip.hasPrefix("::ffff:") else { return ip }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, ip, &bytes) == 1 else { return ip }
        let groups = (0..<4).map { String(UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }

    private static func evict(_ records: inout [String: Record], now: ContinuousClock.Instant) {
        records = records.filter { now - $0.value.lastFailure <= forgetAfter }
        if records.count >= capacity, let stalest = records.min(by: { $0.value.lastFailure < $1.value.lastFailure })?.key {
            records.removeValue(forKey: stalest)
        }
    }
}
