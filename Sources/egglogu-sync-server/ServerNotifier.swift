import EggloguMQTT
import EggloguProtocol
import EggloguServer
import Logging
import ServiceLifecycle

/// Publishes the server's notices on the farm's MQTT topics: the one publisher of notices, since the
/// server alone knows what a push changed and the cursor after it. The notice, with its changes when
/// they are small, goes on `egglogu/<farm>/changes` (only the server may write there); a plain one
/// on `egglogu/<farm>/sync` for agents of earlier releases. A notice that cannot be sent is dropped:
/// devices poll as a safety net.
final class ServerNotifier: NoticePublisher, Service {
    private let client: MQTTClient
    private let logger: Logger

    init(configuration: MQTTConfiguration, logger: Logger) throws {
        self.client = try MQTTClient(configuration: configuration)
        self.logger = logger
    }

    func run() async throws {
        let client = self.client
        async let connection: Void = client.run()
        await withGracefulShutdownHandler {
            for await event in client.events {
                switch event {
                case .connected: logger.info("notices: broker connected")
                case .disconnected(let reason, _): logger.warning("notices: broker unreachable", metadata: ["error": "\(reason)"])
                case .message: break
                }
            }
        } onGracefulShutdown: {
            client.stop()
        }
        await connection
    }

    func publish(_ notice: Notice, inline: [UInt8]?) {
        do {
            let plain = notice.bytes
            try client.publish(topic: Notice.changesTopic(farm: notice.farmID), payload: inline ?? plain)
            try client.publish(topic: Notice.topic(farm: notice.farmID), payload: plain)
        } catch {
            logger.debug("notice dropped", metadata: ["error": "\(error)"])
        }
    }
}
