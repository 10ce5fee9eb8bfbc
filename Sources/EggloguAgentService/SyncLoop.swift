import EggloguAgentSync
import EggloguCore
import EggloguProtocol
import EggloguStore
import EggloguSyncClient
import Logging
import ServiceLifecycle

/// Runs sync cycles, one at a time: on start, on every wake (a notice, a (re)connect, a local
/// write) and on its poll timer, backing off while the server cannot be reached.
final class SyncLoop: Service {
    private let sync: AgentSync
    private let state: AgentState
    private let monitor: AgentMonitor
    private let wakeup: Wakeup
    private let clock: ClockCorrection
    private let configuration: AgentServiceConfiguration
    private let announce: @Sendable (SyncSummary) -> Void
    private let hooks: AgentHooks
    private let logger: Logger
    /// A sync longer than this stops the heartbeat, so a supervisor restarts a hung process.
    private let longestSync = Duration.seconds(600)

    init(
        sync: AgentSync, state: AgentState, monitor: AgentMonitor, wakeup: Wakeup, clock: ClockCorrection,
        configuration: AgentServiceConfiguration, hooks: AgentHooks, logger: Logger,
        announce: @escaping @Sendable (SyncSummary) -> Void
    ) {
        self.sync = sync
        self.state = state
        self.monitor = monitor
        self.wakeup = wakeup
        self.clock = clock
        self.configuration = configuration
        self.hooks = hooks
        self.announce = announce
        self.logger = logger
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await loop()
        } onGracefulShutdown: { [wakeup] in
            wakeup.signal(.shutdown)
        }
    }

    private func loop() async {
        let debounce = Duration.seconds(configuration.pushDebounce)
        var lastPush: ContinuousClock.Instant?
        var failures = 0
        var deadline = ContinuousClock.now
        var lastTrim: ContinuousClock.Instant?
        while true {
            // Going idle for a while: hand back what start-up and the last bursts touched (once per 10 min at most).
            if deadline - .now > .seconds(5), lastTrim.map({ ContinuousClock.now - $0 > .seconds(600) }) ?? true {
                MemoryTrim.release()
                lastTrim = .now
            }
            var wait = max(.zero, deadline - .now)
            if let beat = hooks.heartbeatInterval { wait = min(wait, beat) }
            let reason = await wakeup.wait(for: wait)
            hooks.heartbeat()
            if reason == nil, ContinuousClock.now < deadline { continue }
            logger.debug("woke", metadata: ["reason": "\(reason.map { "\($0)" } ?? "timer")"])
            if reason == .shutdown { return }
            if reason == .reschedule {
                deadline = min(deadline, .now + pollDelay())
                continue
            }
            // Leading edge: the first write after a quiet period goes out at once; writes that follow
            // within the debounce wait for its end and go out together.
            if reason == .push {
                if let lastPush, ContinuousClock.now - lastPush < debounce {
                    try? await Task.sleep(until: lastPush + debounce)
                }
                lastPush = .now
                state.countQueued()
            }
            do {
                let summary = try await withHeartbeat { try await sync.sync() }
                state.countQueued()
                failures = 0
                state.server(reachable: true)
                monitor.pulled()
                observeClock(summary)
                if summary.pushed > 0 { announce(summary) }
                if summary.pushed + summary.pulled > 0 || summary.resynced {
                    monitor.record("sync", Self.describe(summary))
                    logger.info(
                        "synced",
                        metadata: ["pushed": "\(summary.pushed)", "pulled": "\(summary.pulled)", "conflicts": "\(summary.conflicts)", "cursor": "\(summary.cursor ?? "-")"])
                }
                if !summary.rejected.isEmpty {
                    logger.warning("the server refused records", metadata: ["count": "\(summary.rejected.count)", "first": "\(summary.rejected[0].collection)/\(summary.rejected[0].id ?? "?"): \(summary.rejected[0].reason)"])
                }
                if let problem = summary.renewalProblem {
                    logger.warning("the renewed token was not stored", metadata: ["error": "\(problem)"])
                }
                deadline = .now + pollDelay()
            } catch {
                state.countQueued()
                failures += 1
                let delay = backoff(failures)
                let message = (error as? SyncClientError)?.message ?? "\(error)"
                if let error = error as? SyncClientError, error.kind == .unavailable {
                    state.server(reachable: false, error: message)
                } else {
                    state.server(reachable: true, error: message)
                }
                monitor.record("sync-failed", message)
                logger.warning("sync failed; changes stay queued", metadata: ["error": "\(message)", "retryIn": "\(Int(delay.components.seconds))s"])
                deadline = .now + delay
            }
        }
    }

    /// `pushed 1, pulled 3, 1 conflict filed`: what a cycle moved, for the latest events.
    static func describe(_ summary: SyncSummary) -> String {
        var parts = ["pushed \(summary.pushed)", "pulled \(summary.pulled)"]
        if summary.conflicts > 0 { parts.append("\(summary.conflicts) conflict\(summary.conflicts == 1 ? "" : "s") filed") }
        if !summary.rejected.isEmpty { parts.append("\(summary.rejected.count) refused by the server") }
        if summary.resynced { parts.append("full resync") }
        return parts.joined(separator: ", ")
    }

    /// Runs `body` with heartbeats at the usual interval, for at most ``longestSync``.
    private func withHeartbeat<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        guard let interval = hooks.heartbeatInterval else { return try await body() }
        let ticker = Task { [hooks, longestSync] in
            let started = ContinuousClock.now
            while ContinuousClock.now - started < longestSync {
                do { try await Task.sleep(for: interval) } catch { return }
                hooks.heartbeat()
            }
        }
        defer { ticker.cancel() }
        return try await body()
    }

    /// The poll interval: the safety interval while notices and local writes wake the loop, else
    /// the poll interval ±10%.
    private func pollDelay() -> Duration {
        if state.brokerConnected && state.watchingLocalWrites { return .seconds(configuration.safetyPollInterval) }
        return .seconds(configuration.pollInterval * Double.random(in: 0.9...1.1))
    }

    /// Full jitter: anywhere between 0 and floor·2ⁿ⁻¹, capped.
    private func backoff(_ failures: Int) -> Duration {
        let ceiling = min(configuration.serverBackoffCap, configuration.serverBackoffFloor * pow2(failures - 1))
        return .seconds(Double.random(in: 0...ceiling))
    }

    private func pow2(_ n: Int) -> Double {
        Double(1 << min(max(n, 0), 30))
    }

    private func observeClock(_ summary: SyncSummary) {
        guard let text = summary.serverTime, let serverTime = Timestamp(iso8601: text) else { return }
        let before = clock.milliseconds
        let offset = clock.observe(serverTime: serverTime, limit: configuration.maxClockSkewMilliseconds)
        if clock.milliseconds != before {
            state.clock(offsetMilliseconds: clock.milliseconds)
            if clock.milliseconds != 0 {
                logger.warning("this clock is off from the server's; stamps follow server time", metadata: ["offsetMs": "\(offset)"])
            }
        }
    }
}
