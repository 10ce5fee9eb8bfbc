import EggloguAgentSync
import EggloguCore
import EggloguStore
import Logging
import ServiceLifecycle

/// Runs sync cycles, one at a time: on start, on every wake (a notice, a (re)connect, a local
/// write) and on its poll timer, backing off while the server cannot be reached.
///
/// Time and jitter come from outside (``SyncLoop/Timing``), so its schedule can be tested with a
/// manual clock and fixed draws.
final class SyncLoop<C: Clock<Duration>>: Service {
    /// The clock the loop schedules by, and where its random jitter comes from.
    struct Timing: Sendable {
        let clock: C
        /// A uniform draw from the range (jitter of polls and backoffs).
        let random: @Sendable (ClosedRange<Double>) -> Double
    }

    private let sync: AgentSync
    private let state: AgentState
    private let monitor: AgentMonitor
    private let wakeup: Wakeup
    private let clockCorrection: ClockCorrection
    private let configuration: AgentServiceConfiguration
    private let hooks: AgentHooks
    private let logger: Logger
    private let timing: Timing
    /// A sync longer than this stops the heartbeat, so a supervisor restarts a hung process.
    private let longestSync = Duration.seconds(600)

    init(
        sync: AgentSync,
        state: AgentState,
        monitor: AgentMonitor,
        wakeup: Wakeup,
        clockCorrection: ClockCorrection,
        configuration: AgentServiceConfiguration,
        hooks: AgentHooks,
        logger: Logger,
        timing: Timing
    ) {
        self.sync = sync
        self.state = state
        self.monitor = monitor
        self.wakeup = wakeup
        self.clockCorrection = clockCorrection
        self.configuration = configuration
        self.hooks = hooks
        self.logger = logger
        self.timing = timing
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await loop()
        } onGracefulShutdown: { [wakeup] in
            wakeup.signal(.shutdown)
        }
    }

    private var now: C.Instant { timing.clock.now }

    private func loop() async {
        let debounce = Duration.seconds(configuration.pushDebounce)
        var lastPush: C.Instant?
        var failures = 0
        var deadline = now
        var lastTrim: C.Instant?
        while true {
            // Going idle for a while: hand back what start-up and the last bursts touched (once per 10 min at most).
            if now.duration(to: deadline) > .seconds(5), lastTrim.map({ $0.duration(to: now) > .seconds(600) }) ?? true {
                await sync.replica.releaseMemory()
                MemoryTrim.release()
                lastTrim = now
            }
            var wake = deadline
            if let beat = hooks.heartbeatInterval { wake = min(wake, now.advanced(by: beat)) }
            // While backing off, local writes wait for the backoff's end: each would be one more
            // failure, and a few seconds' outage with busy writers would back off for minutes.
            // Notices and reconnects still wake the loop (the server or the link may be back).
            let reason = await wakeup.wait(until: wake, on: timing.clock, deferring: failures > 0 ? [.push] : [])
            hooks.heartbeat()
            if reason == nil, now < deadline { continue }
            logger.debug("woke", metadata: ["reason": "\(reason.map { "\($0)" } ?? "timer")"])
            if reason == .shutdown { return }
            if reason == .reschedule {
                deadline = min(deadline, now.advanced(by: pollDelay()))
                continue
            }
            // A local write already pushed by the cycle that was running when it woke us: nothing
            // to do (a cycle would only pull, and notices keep this replica current).
            if reason == .push, (try? await sync.replica.unpushed(limit: 1))?.isEmpty == true { continue }
            // Leading edge: the first write after a quiet period goes out at once; writes that follow
            // within the debounce wait for its end and go out together.
            if reason == .push {
                if let lastPush, lastPush.duration(to: now) < debounce {
                    try? await timing.clock.sleep(until: lastPush.advanced(by: debounce), tolerance: nil)
                }
                lastPush = now
            }
            do {
                let summary = try await withHeartbeat { try await sync.sync() }
                state.caughtUp()
                await state.countQueued()
                failures = 0
                state.server(reachable: true)
                monitor.pulled()
                observeClock(summary)
                if summary.pushed + summary.pulled > 0 || summary.resynced {
                    monitor.record("sync", Self.describe(summary))
                    logger.info(
                        "synced",
                        metadata: [
                            "pushed": "\(summary.pushed)", "pulled": "\(summary.pulled)", "conflicts": "\(summary.conflicts)",
                            "cursor": "\(summary.cursor ?? "-")",
                        ]
                    )
                }
                if let first = summary.rejected.first {
                    logger.warning(
                        "the server refused records",
                        metadata: ["count": "\(summary.rejected.count)", "first": "\(first.collection)/\(first.id ?? "?"): \(first.reason)"]
                    )
                }
                if let problem = summary.renewalProblem {
                    logger.warning("the renewed token was not stored", metadata: ["error": "\(problem)"])
                }
                deadline = now.advanced(by: pollDelay())
            } catch {
                state.caughtUp()
                await state.countQueued()
                failures += 1
                let delay = backoff(failures)
                let message = (error as? AgentSyncError)?.message ?? "\(error)"
                let unreachable = (error as? AgentSyncError)?.kind == .unavailable
                state.server(reachable: !unreachable, error: message)
                monitor.record("sync-failed", message)
                logger.warning(
                    "sync failed; changes stay queued",
                    metadata: ["error": "\(message)", "retryIn": "\(Int(delay.components.seconds))s"]
                )
                deadline = now.advanced(by: delay)
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
        let ticker = Task { [hooks, longestSync, timing] in
            let started = timing.clock.now
            while started.duration(to: timing.clock.now) < longestSync {
                do { try await timing.clock.sleep(for: interval) } catch { return }
                hooks.heartbeat()
            }
        }
        defer { ticker.cancel() }
        return try await body()
    }

    /// The next poll: the safety interval while notices and local writes wake the loop, else the
    /// poll interval ±10%.
    func pollDelay() -> Duration {
        if state.brokerConnected && state.watchingLocalWrites { return .seconds(configuration.safetyPollInterval) }
        return .seconds(configuration.pollInterval * timing.random(0.9...1.1))
    }

    /// Full jitter: anywhere between 0 and floor·2ⁿ⁻¹, capped.
    func backoff(_ failures: Int) -> Duration {
        let ceiling = min(configuration.serverBackoffCap, configuration.serverBackoffFloor * Double(1 << min(max(failures - 1, 0), 30)))
        return .seconds(timing.random(0...ceiling))
    }

    private func observeClock(_ summary: SyncSummary) {
        guard let text = summary.serverTime, let serverTime = Timestamp(iso8601: text) else { return }
        let before = clockCorrection.milliseconds
        let offset = clockCorrection.observe(serverTime: serverTime, limit: configuration.maxClockSkewMilliseconds)
        if clockCorrection.milliseconds != before {
            state.clock(offsetMilliseconds: clockCorrection.milliseconds)
            if clockCorrection.milliseconds != 0 {
                logger.warning("this clock is off from the server's; stamps follow server time", metadata: ["offsetMs": "\(offset)"])
            }
        }
    }
}

extension SyncLoop where C == ContinuousClock {
    /// The production timing: the continuous clock and the system's random numbers.
    static var system: Timing { Timing(clock: ContinuousClock(), random: { Double.random(in: $0) }) }
}
