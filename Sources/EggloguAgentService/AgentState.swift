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

        var mode: Mode {
            if !serverReachable { return .offline }
            return brokerConnected ? .realtime : .polling
        }
    }

    private let replica: Replica
    private let snapshot: Mutex<Snapshot>

    init(replica: Replica, brokerConfigured: Bool) {
        self.replica = replica
        self.snapshot = Mutex(Snapshot(brokerConfigured: brokerConfigured))
    }

    var mode: Mode { snapshot.withLock { $0.mode } }
    var brokerConnected: Bool { snapshot.withLock { $0.brokerConnected } }

    func broker(connected: Bool, error: String? = nil) {
        update { $0.brokerConnected = connected; $0.brokerError = error }
    }

    func server(reachable: Bool, error: String? = nil) {
        update { $0.serverReachable = reachable; $0.serverError = error }
    }

    func clock(offsetMilliseconds: Int64) {
        update { $0.clockOffsetMilliseconds = offsetMilliseconds }
    }

    /// Marks the service as stopped in the replica.
    func stopped() {
        try? replica.setServiceState(nil)
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
            "updatedAt": .string(Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000)).iso8601),
        ]
        try? replica.setServiceState(value)
    }

    private func update(_ change: (inout Snapshot) -> Void) {
        let changed = snapshot.withLock { snapshot in
            let before = snapshot
            change(&snapshot)
            return before != snapshot
        }
        if changed { publish() }
    }
}
