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
