import EggloguAgentSync
import EggloguCore
import EggloguJSON
import EggloguStore
import Foundation
import Prometheus
import Synchronization

/// What the running agent has seen, for `/metrics` and the status page: counters of pulls,
/// pushes and notices, the propagation delay of notices, and the latest sync events.
///
/// One monitor lives as long as the process, across reloads, so counters never restart.
public final class AgentMonitor: Sendable {
    /// One line of the page's "latest sync events".
    public struct Event: Sendable, Equatable {
        public let at: Date
        /// `started`, `sync`, `sync-failed`, `broker-connected`, `broker-disconnected`, `resolved`, `restored`.
        public let kind: String
        public let message: String
        /// How many times in a row this event happened (repeated failures collapse into one line).
        public let repeats: Int

        public var json: JSONValue {
            [
                "at": .string(Timestamp(milliseconds: Int64(at.timeIntervalSince1970 * 1000)).iso8601),
                "kind": .string(kind), "message": .string(message), "repeats": .number(JSONNumber(repeats)),
            ]
        }
    }

    private struct State {
        var events: [Event] = []
        /// When the notices that asked for the next pull were sent.
        var pendingNotices: [Date] = []
    }

    /// Bounds on the delay histogram, in seconds.
    static let delayBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    private static let maxEvents = 50
    private static let maxPendingNotices = 1_000

    private let registry = PrometheusCollectorRegistry()
    private let state = Mutex(State())
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = Date.init) {
        self.now = now
        for kind in [SyncRequestOutcome.Kind.push, .pull] {
            _ = requests(kind, outcome: "ok")
        }
        _ = noticesReceived
        brokerConnected.set(Int64(0))
        _ = propagationDelay
    }

    private static func name(_ metric: String, unit: String = "", _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "egglogu", subsystem: "agent", metricName: metric, unitName: unit, helpText: help)
    }

    private func requests(_ kind: SyncRequestOutcome.Kind, outcome: String) -> Counter {
        registry.makeCounter(
            descriptor: Self.name(
                kind == .push ? "pushes" : "pulls",
                unit: "total",
                "\(kind.rawValue.capitalized) requests to the server by outcome"
            ),
            labels: [("outcome", outcome)]
        )
    }

    private var noticesReceived: Counter {
        registry.makeCounter(descriptor: Self.name("notices_received", unit: "total", "Notices that arrived from the broker"))
    }

    private var brokerConnected: Gauge {
        registry.makeGauge(descriptor: Self.name("broker_connected", "1 while the broker is connected"))
    }

    private var propagationDelay: ValueHistogram {
        registry.makeValueHistogram(
            descriptor: Self.name(
                "propagation_delay",
                unit: "seconds",
                "From another device's notice being sent to this device having pulled the change (includes clock offset between devices)"
            ),
            buckets: Self.delayBuckets
        )
    }

    /// A push or pull request finished; `outcome` is `ok` or why it failed.
    public func requestFinished(_ request: SyncRequestOutcome) {
        requests(request.kind, outcome: request.outcome).increment()
    }

    /// A notice arrived; `ignored` says why it asked for nothing, `sentAt` is when it was sent.
    func notice(ignored reason: String?, sentAt: Date?) {
        noticesReceived.increment()
        if let reason {
            registry.makeCounter(
                descriptor: Self.name("notices_ignored", unit: "total", "Notices that did not lead to a pull, by reason"),
                labels: [("reason", reason)]
            )
            .increment()
        } else if let sentAt {
            state.withLock { state in
                if state.pendingNotices.count < Self.maxPendingNotices { state.pendingNotices.append(sentAt) }
            }
        }
    }

    /// A notice's changes were applied without a pull: they have arrived.
    func noticeApplied(sentAt: Date?) {
        noticesReceived.increment()
        registry.makeCounter(descriptor: Self.name("notices_applied", unit: "total", "Notices whose changes were applied without a pull"))
            .increment()
        if let sentAt { propagationDelay.record(max(0, now().timeIntervalSince(sentAt))) }
    }

    /// A sync cycle finished: every notice that arrived before it is now applied.
    func pulled() {
        let sent = state.withLock { state in
            defer { state.pendingNotices = [] }
            return state.pendingNotices
        }
        let finished = now()
        for at in sent {
            propagationDelay.record(max(0, finished.timeIntervalSince(at)))
        }
    }

    /// A catch-up's progress: records pulled in the running cycle and about how many are left
    /// (-1: unknown); both 0 when none is under way.
    func catchUp(pulled: Int, remaining: Int?) {
        registry.makeGauge(descriptor: Self.name("catchup_pulled_records", "Records pulled so far by a catch-up under way"))
            .set(Double(pulled))
        registry.makeGauge(
            descriptor: Self.name("catchup_remaining_records", "About how many records a catch-up under way has left (-1: unknown)")
        )
        .set(Double(remaining ?? -1))
    }

    func broker(connected: Bool) {
        brokerConnected.set(Int64(connected ? 1 : 0))
    }

    /// Adds a line to the latest events; the same kind and message as the newest one only counts up.
    public func record(_ kind: String, _ message: String) {
        let at = now()
        state.withLock { state in
            if let last = state.events.last, last.kind == kind, last.message == message {
                state.events[state.events.count - 1] = Event(at: at, kind: kind, message: message, repeats: last.repeats + 1)
                return
            }
            state.events.append(Event(at: at, kind: kind, message: message, repeats: 1))
            if state.events.count > Self.maxEvents { state.events.removeFirst(state.events.count - Self.maxEvents) }
        }
    }

    /// The latest events, newest first.
    public var events: [Event] {
        state.withLock { $0.events.reversed() }
    }

    /// The metrics in Prometheus text format, with the replica's figures read now: queued
    /// changes, unresolved conflicts and the age of the last completed sync (cheap queries only:
    /// scrapes and the page's refreshes must not cost a scan of the farm).
    public func render(replica: Replica) async -> [UInt8] {
        if let queued = try? await replica.unpushedCount() {
            registry.makeGauge(descriptor: Self.name("queued_changes", "Local changes waiting to be pushed")).set(Double(queued))
        }
        if let unresolved = try? await replica.unresolvedConflictCount() {
            registry.makeGauge(descriptor: Self.name("unresolved_conflicts", "Unresolved entries of the farm's conflict archive"))
                .set(Double(unresolved))
        }
        if let last = try? await Optional(replica.lastSync()) {
            let age = last.map { max(0, now().timeIntervalSince1970 - Double($0.milliseconds) / 1000) } ?? -1
            registry.makeGauge(descriptor: Self.name("last_sync_age", unit: "seconds", "Seconds since the last completed sync (-1: never)"))
                .set(age)
        }
        return registry.emitToBuffer()
    }
}
