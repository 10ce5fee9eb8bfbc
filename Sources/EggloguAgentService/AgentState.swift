import EggloguAgentSync
import EggloguCore
import EggloguJSON
import EggloguStore
import Foundation
import Synchronization

/// What the running service knows about its links, kept in the replica for `egglogu-agent status`.
final class AgentState: Sendable {
    enum Mode: String, Sendable {
        /// Broker connected, server reachable: changes arrive by notice.
        case realtime
        /// No broker (or none configured), server reachable: changes arrive by polling.
        case polling
        /// The server cannot be reached: changes queue.
        case offline
    }

    /// A long catch-up under way: a sync cycle whose pages keep coming.
    struct CatchUp: Equatable {
        var pulled: Int
        /// About how many records are left; nil when the server did not say.
        var remaining: Int?
        var recordsPerSecond: Int
    }

    private struct Snapshot: Equatable {
        var brokerConfigured: Bool
        var brokerConnected = false
        var brokerError: String?
        var serverReachable = true
        var serverError: String?
        var clockOffsetMilliseconds: Int64 = 0
        var queued = 0
        var webURL: String?
        /// Whether writes by other processes wake the sync loop (the local-change watcher runs).
        var watchingLocalWrites = true
        var catchUp: CatchUp?

        var mode: Mode {
            if !serverReachable { return .offline }
            return brokerConnected ? .realtime : .polling
        }
    }

    private let replica: Replica
    private let snapshot: Mutex<Snapshot>
    private let monitor: AgentMonitor
    private let onChange: @Sendable (String) -> Void
    private let lastSummary = Mutex("")
    /// When the catch-up under way started, and when it was last published.
    private let catchUpTimes = Mutex<(started: Date?, published: Date?)>((nil, nil))
    /// The states to write to the replica, newest only: ``run()`` writes them one at a time.
    private let writes: AsyncStream<JSONValue?>
    private let writer: AsyncStream<JSONValue?>.Continuation

    init(
        replica: Replica,
        brokerConfigured: Bool,
        monitor: AgentMonitor = AgentMonitor(),
        onChange: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.replica = replica
        self.snapshot = Mutex(Snapshot(brokerConfigured: brokerConfigured))
        self.monitor = monitor
        self.onChange = onChange
        (writes, writer) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Writes each published state to the replica, off the caller, until ``stopped()``.
    func run() async {
        for await value in writes {
            try? await replica.setServiceState(value)
        }
    }

    var mode: Mode { snapshot.withLock { $0.mode } }
    var brokerConnected: Bool { snapshot.withLock { $0.brokerConnected } }
    var watchingLocalWrites: Bool { snapshot.withLock { $0.watchingLocalWrites } }

    /// The local-change watcher stopped: local writes are found by polling.
    func stoppedWatchingLocalWrites() {
        update { $0.watchingLocalWrites = false }
    }

    func broker(connected: Bool, error: String? = nil) {
        monitor.broker(connected: connected)
        update {
            $0.brokerConnected = connected
            $0.brokerError = error
        }
    }

    func web(url: String?) {
        update { $0.webURL = url }
    }

    func server(reachable: Bool, error: String? = nil) {
        update {
            $0.serverReachable = reachable
            $0.serverError = error
        }
    }

    func clock(offsetMilliseconds: Int64) {
        update { $0.clockOffsetMilliseconds = offsetMilliseconds }
    }

    /// A sync cycle applied a page. While more follow, the catch-up is reported (in the replica, to
    /// the supervisor and in metrics), at most once a second.
    func catchingUp(_ progress: SyncProgress) {
        guard progress.remaining != 0 else { return }
        monitor.catchUp(pulled: progress.pulled, remaining: progress.remaining)
        let now = Date()
        let (started, due) = catchUpTimes.withLock { times in
            let started = times.started ?? now
            let due = times.published.map { now.timeIntervalSince($0) >= 1 } ?? true
            times = (started, due ? now : times.published)
            return (started, due)
        }
        guard due else { return }
        let rate = Double(progress.pulled) / max(0.001, now.timeIntervalSince(started))
        update { $0.catchUp = CatchUp(pulled: progress.pulled, remaining: progress.remaining, recordsPerSecond: Int(rate)) }
    }

    /// A sync cycle ended: no catch-up is under way.
    func caughtUp() {
        guard
            catchUpTimes.withLock({ times in
                defer { times = (nil, nil) }
                return times.started != nil
            })
        else { return }
        monitor.catchUp(pulled: 0, remaining: 0)
        update { $0.catchUp = nil }
    }

    /// Re-counts the changes waiting to be pushed.
    func countQueued() async {
        guard let queued = try? await replica.unpushedCount() else { return }
        update { $0.queued = queued }
    }

    /// One line for a supervisor: `realtime, 0 queued changes`, with the reason when not realtime.
    var summary: String {
        let current = snapshot.withLock { $0 }
        var line = current.mode.rawValue
        switch current.mode {
        case .realtime: break
        case .polling:
            line += current.brokerConfigured ? " (broker: \(current.brokerError ?? "connecting"))" : " (no broker configured)"
        case .offline:
            line += " (server: \(current.serverError ?? "unreachable"))"
        }
        if let catchUp = current.catchUp {
            line += ", catching up: \(catchUp.pulled) records pulled" + (catchUp.remaining.map { ", about \($0) left" } ?? "")
        }
        return line + ", \(current.queued) queued change\(current.queued == 1 ? "" : "s")"
    }

    /// Marks the service as stopped in the replica: the last write ``run()`` makes.
    func stopped() async {
        writer.yield(nil)
        writer.finish()
    }

    /// Writes the state when it changed, with this process's id so `status` can tell a crashed service.
    func publish() {
        let current = snapshot.withLock { $0 }
        let value: JSONValue = [
            "pid": .number(JSONNumber(Int(getpid()))),
            "mode": .string(current.mode.rawValue),
            "broker": [
                "configured": .bool(current.brokerConfigured), "connected": .bool(current.brokerConnected),
                "error": current.brokerError.map(JSONValue.string) ?? .null,
            ],
            "server": ["reachable": .bool(current.serverReachable), "error": current.serverError.map(JSONValue.string) ?? .null],
            "clockOffsetMs": .number(JSONNumber(current.clockOffsetMilliseconds)),
            "web": current.webURL.map(JSONValue.string) ?? .null,
            "catchUp": current.catchUp.map { catchUp in
                [
                    "pulled": .number(JSONNumber(catchUp.pulled)), "remaining": catchUp.remaining.map { .number(JSONNumber($0)) } ?? .null,
                    "recordsPerSecond": .number(JSONNumber(catchUp.recordsPerSecond)),
                ]
            } ?? .null,
            "updatedAt": .string(Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).iso8601),
        ]
        writer.yield(value)
        announce()
    }

    /// Tells the supervisor when the one-line summary changed.
    private func announce() {
        let line = summary
        let changed = lastSummary.withLock { last in
            defer { last = line }
            return last != line
        }
        if changed { onChange(line) }
    }

    /// Applies a change; the replica's copy is rewritten only when more than the queue count changed.
    private func update(_ change: (inout Snapshot) -> Void) {
        let (changed, queueOnly) = snapshot.withLock { snapshot in
            var before = snapshot
            change(&snapshot)
            let changed = before != snapshot
            before.queued = snapshot.queued
            return (changed, changed && before == snapshot)
        }
        if queueOnly {
            announce()
        } else if changed {
            publish()
        }
    }
}
