import EggloguAgentSync
import EggloguCore
import EggloguMQTT
import EggloguProtocol
import EggloguStore
import Foundation
import Logging
import ServiceLifecycle

/// The service's MQTT side: presence out, notices in. The server publishes the notice of every
/// push, with its changes when they are small; a device publishes only its presence. Changes that
/// continue the replica's cursor are applied at once; any other notice is a hint to pull.
final class BrokerLink: Service {
    private let client: MQTTClient
    private let sync: AgentSync
    private let state: AgentState
    private let monitor: AgentMonitor
    private let wakeup: Wakeup
    private let logger: Logger
    private let ignored: RateLimitedLog

    init(client: MQTTClient, sync: AgentSync, state: AgentState, monitor: AgentMonitor, wakeup: Wakeup, logger: Logger) {
        self.client = client
        self.sync = sync
        self.state = state
        self.monitor = monitor
        self.wakeup = wakeup
        self.logger = logger
        self.ignored = RateLimitedLog(logger: logger)
    }

    /// The MQTT settings of a device: the server's notices of its farm at QoS 1, a retained Last
    /// Will of `offline`.
    static func configure(_ configuration: inout MQTTConfiguration, farm: String, device: String) {
        configuration.subscriptions = [Notice.changesTopic(farm: farm)]
        configuration.will = .init(topic: Notice.presenceTopic(farm: farm, device: device), payload: Array("offline".utf8), retain: true)
    }

    func run() async throws {
        let client = self.client
        async let connection: Void = client.run()
        await withGracefulShutdownHandler {
            for await event in client.events { await handle(event) }
        } onGracefulShutdown: {
            client.stop(publishingWill: true)
        }
        await connection
        state.broker(connected: false)
    }

    private var presenceTopic: String { Notice.presenceTopic(farm: sync.farm, device: sync.replica.deviceID) }

    private func handle(_ event: MQTTEvent) async {
        switch event {
        case .connected:
            logger.info("broker connected", metadata: ["host": "\(client.configuration.host):\(client.configuration.port)"])
            try? client.publish(topic: presenceTopic, payload: Array("online".utf8), retain: true)
            state.broker(connected: true)
            monitor.record("broker-connected", "connected to \(client.configuration.host):\(client.configuration.port)")
            wakeup.signal(.sync)
        case .disconnected(let reason, let retryIn):
            let wasConnected = state.brokerConnected
            state.broker(connected: false, error: reason)
            monitor.record("broker-disconnected", reason)
            if wasConnected { wakeup.signal(.reschedule) }
            ignored.notice("broker unreachable; polling meanwhile", reason: "broker", metadata: ["error": "\(reason)", "retryIn": "\(retryIn)"])
        case .message(_, let payload, let retained):
            if retained || payload.isEmpty {
                ignoreStale(payload, retained: retained)
                return
            }
            await take(payload)
        }
    }

    private func take(_ payload: [UInt8]) async {
        let outcome: NoticeOutcome
        let notice: Notice?
        do {
            (outcome, notice) = try await sync.take(payload)
        } catch {
            // The replica failed to apply them: the pull goes the usual way, with its own errors.
            ignored.notice("notice not applied; pulling", reason: "apply-failed", metadata: ["error": "\(error)"])
            wakeup.signal(.sync)
            return
        }
        let sentAt = notice.flatMap { Timestamp(iso8601: $0.at) }.map { Date(timeIntervalSince1970: Double($0.milliseconds) / 1000) }
        switch outcome {
        case .applied(let records, let conflicts, let queued):
            monitor.noticeApplied(sentAt: sentAt)
            monitor.record("sync", "pulled \(records) carried by a notice" + (conflicts > 0 ? ", \(conflicts) conflicts filed" : ""))
            logger.debug("notice applied", metadata: ["records": "\(records)", "conflicts": "\(conflicts)"])
            // Conflict entries filed while merging go out with the next push.
            if queued > 0 { wakeup.signal(.push) }
        case .pull:
            monitor.notice(ignored: nil, sentAt: sentAt)
            wakeup.signal(.sync)
        case .ignored(let reason) where reason == "own notice" || reason == "cursor already reached":
            monitor.notice(ignored: reason, sentAt: nil)
            logger.debug("notice ignored", metadata: ["reason": "\(reason)"])  // the expected duplicates
        case .ignored(let reason):
            monitor.notice(ignored: reason, sentAt: nil)
            ignored.notice("notice ignored", reason: reason, metadata: ["bytes": "\(payload.count)"])
        }
    }

    /// A retained notice comes with every subscription, so it is never news: the pull every
    /// (re)connect makes already covers it, and acting on it would make every connect pull twice.
    /// The server never retains one; the empty message that clears one is skipped too.
    private func ignoreStale(_ payload: [UInt8], retained: Bool) {
        guard retained, !payload.isEmpty else {
            logger.debug("notice ignored", metadata: ["reason": "empty"])
            return
        }
        monitor.notice(ignored: "retained", sentAt: nil)
        ignored.notice("retained notice ignored", reason: "retained", metadata: ["bytes": "\(payload.count)"])
    }
}
