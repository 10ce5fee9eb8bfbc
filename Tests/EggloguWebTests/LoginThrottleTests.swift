import EggloguTestTraits
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import EggloguAgentWeb

/// Password guessing on the page: a few tries are free, then each wrong one locks the address out
/// for twice as long, up to five minutes; failures are logged, never with the password.
@Suite(.ownThreads) struct LoginThrottleTests {
    final class Clock: Sendable {
        let instant = Mutex(ContinuousClock.now)
        func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
    }

    @Test func lockoutsDoubleUpToFiveMinutesAndASuccessOrAQuietDayForgets() throws {
        let clock = Clock()
        let throttle = LoginThrottle(now: { clock.instant.withLock { $0 } })
        for _ in 0..<5 { #expect(try throttle.attempt("10.0.0.1").get().lockout == .zero) }
        var lockouts: [Int64] = []
        for _ in 0..<12 {
            let failure = try throttle.attempt("10.0.0.1").get()
            lockouts.append(failure.lockout.components.seconds)
            #expect(throttle.attempt("10.0.0.1") == .failure(.init(wait: failure.lockout)), "refused, and not counted")
            clock.advance(failure.lockout)
        }
        #expect(lockouts == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300])
        #expect(try throttle.attempt("10.0.0.2").get().failures == 1, "another address is not affected")

        throttle.succeeded("10.0.0.1")
        #expect(try throttle.attempt("10.0.0.1").get().lockout == .zero, "a right password clears the count")
        for _ in 0..<5 { _ = throttle.attempt("10.0.0.3") }
        clock.advance(.seconds(3_600))
        #expect(try throttle.attempt("10.0.0.3").get() == .init(failures: 6, lockout: .seconds(1)), "an hour's wait earns no free guesses")
        clock.advance(.seconds(86_401))
        #expect(try throttle.attempt("10.0.0.3").get() == .init(failures: 1, lockout: .zero), "a quiet day forgets")
    }

    @Test func addressesAreKeyedByIPAndIPv6ByItsSlash64() throws {
        #expect(LoginThrottle.key(try SocketAddress(ipAddress: "192.0.2.7", port: 5000)) == "192.0.2.7")
        let one = LoginThrottle.key(try SocketAddress(ipAddress: "2001:db8:1:2::1", port: 1))
        let other = LoginThrottle.key(try SocketAddress(ipAddress: "2001:db8:1:2:ffff::9", port: 2))
        #expect(one == "2001:db8:1:2::/64" && one == other)
        #expect(LoginThrottle.key(try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1)) != one)
        #expect(LoginThrottle.key(nil) == "unknown")
    }

    /// Stands still while the lockout is checked (a loaded machine can take a second to send six
    /// requests), then runs with real time from a chosen instant.
    final class SteeredClock: Sendable {
        private let state = Mutex<(frozen: ContinuousClock.Instant?, offset: Duration)>((.now, .zero))

        func now() -> ContinuousClock.Instant {
            state.withLock { $0.frozen ?? ContinuousClock.now + $0.offset }
        }

        /// Moves `duration` on from where it stood and runs from there.
        func resume(after duration: Duration) {
            state.withLock { state in
                guard let frozen = state.frozen else { return }
                state.offset = frozen + duration - ContinuousClock.now
                state.frozen = nil
            }
        }
    }

    @Test func aFloodOfGuessesIsSlowedAndLoggedWithoutThePassword() async throws {
        let harness = try await WebHarness()
        let logs = CapturedLogs()
        let password = "correct horse battery"
        let clock = SteeredClock()
        try await harness.withWeb(host: "::", password: password, logs: logs, throttle: LoginThrottle(now: clock.now)) { web in
            let right = [("Authorization", "Bearer " + password)]
            for attempt in 1...6 {
                let wrong = try await web.get("/api/status", headers: [("Authorization", "Bearer guess-\(attempt)")])
                #expect(wrong.status == 401, "attempt \(attempt)")
            }
            let locked = try await web.get("/api/status", headers: right)
            #expect(locked.status == 429 && locked.error == "too-many-attempts", "even the right password waits out the lockout")
            #expect(locked.headers.first(name: "retry-after") == "1")
            let fromElsewhere = WebClient(base: web.base.replacingOccurrences(of: "127.0.0.1", with: "[::1]"))
            #expect(try await fromElsewhere.get("/api/status", headers: right).status == 200, "another address is not locked out")
            clock.resume(after: .milliseconds(1100))
            #expect(try await web.get("/api/status", headers: right).status == 200)

            // Two seconds of guessing as fast as one client can.
            let start = ContinuousClock.now
            var checked = 0
            var refused = 0
            while ContinuousClock.now - start < .seconds(2) {
                let answer = try await web.get("/api/status", headers: [("Authorization", "Bearer flood-\(checked + refused)")])
                if answer.status == 401 { checked += 1 } else if answer.status == 429 { refused += 1 }
            }
            // 5 free, then one at 1 s: at most 7 passwords checked in 2 s, against about 1,000 a second before.
            #expect(checked <= 7, "\(checked) passwords checked")
            #expect(refused > 0 && checked + refused > 7, "\(refused) refused: too few attempts to tell")
            print("login throttle: \(checked) passwords checked and \(refused) refused in 2 s from one address")
        }
        let failures = logs.lines.filter { $0.contains("status page: wrong password") }
        #expect(failures.count >= 7, "\(logs.lines)")
        #expect(failures.allSatisfy { $0.contains("client=") && $0.contains("failures=") })
        #expect(!logs.lines.contains { $0.contains(password) || $0.contains("guess-") || $0.contains("flood-") })
    }
}
