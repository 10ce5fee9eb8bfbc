import EggloguCore
import EggloguMQTT
import EggloguProtocol
import EggloguStore
import Foundation
import Logging
import ServiceLifecycle

/// The service's MQTT side: presence out, notices in (hints to pull). The server publishes the
/// notices of every push; a device publishes only its presence.
final class BrokerLink: Service {
    private let client: MQTTClient
    private let replica: Replica
    private let farm: String
    private let state: AgentState
    private let monitor: AgentMonitor
    private let wakeup: Wakeup
    private let filter: NoticeFilter
    private let logger: Logger
    private let ignored: RateLimitedLog

    init(
        client: MQTTClient,
        replica: Replica,
        farm: String,
        state: AgentState,
        monitor: AgentMonitor,
        wakeup: Wakeup,
        logger: Logger
    ) {
        self.client = client
        self.replica = replica
        self.farm = farm
        self.state = state
        self.monitor = monitor
        self.wakeup = wakeup
        self.filter = NoticeFilter(farm: farm, device: replica.deviceID)
        self.logger = logger
        self.ignored = RateLimitedLog(logger: logger)
    }

    /// The MQTT settings of a device: notices of its farm at QoS 1, a retained Last Will of `offline`.
    static func configure(_ configuration: inout MQTTConfiguration, farm: String, device: String) {
        configuration.subscriptions = [Notice.topic(farm: farm)]
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

    private var presenceTopic: String { Notice.presenceTopic(farm: farm, device: replica.deviceID) }

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
            let cursor = try? await replica.upstreamCursor()
            let (verdict, notice) = filter.evaluated(payload, cursor: cursor)
            switch verdict {
            case .pull:
                let sentAt = notice.flatMap { Timestamp(iso8601: $0.at) }
                monitor.notice(ignored: nil, sentAt: sentAt.map { Date(timeIntervalSince1970: Double($0.milliseconds) / 1000) })
                wakeup.signal(.sync)
            case .ignore(let reason) where reason == "own notice" || reason == "cursor already reached":
                monitor.notice(ignored: reason, sentAt: nil)
                logger.debug("notice ignored", metadata: ["reason": "\(reason)"])  // the expected duplicates
            case .ignore(let reason):
                monitor.notice(ignored: reason, sentAt: nil)
                ignored.notice("notice ignored", reason: reason, metadata: ["bytes": "\(payload.count)"])
            }
        }
    }

    /// A retained notice comes with every subscription, so it is never news: the pull every
    /// (re)connect makes already covers it, and acting on it would make every connect pull twice.
    /// Notices are never retained on purpose, so this one is cleared (an empty retained message
    /// deletes it), and the broker stops handing it to the farm's devices. The empty message that
    /// clearing forwards to the devices connected at the time is skipped too.
    private func ignoreStale(_ payload: [UInt8], retained: Bool) {
        guard retained, !payload.isEmpty else {
            logger.debug("notice ignored", metadata: ["reason": "empty"])
            return
        }
        monitor.notice(ignored: "retained", sentAt: nil)
        let cleared = (try? client.publish(topic: Notice.topic(farm: farm), payload: [], retain: true)) != nil
        ignored.notice("retained notice ignored", reason: "retained", metadata: ["bytes": "\(payload.count)", "cleared": "\(cleared)"])
    }
}
