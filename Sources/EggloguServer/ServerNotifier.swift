import EggloguMQTT
import EggloguProtocol
import Logging
import ServiceLifecycle

/// Publishes a notice after every push that changed something, so devices that push over plain
/// HTTP still wake the others. A notice that cannot be sent is dropped: devices poll as a safety net.
public final class ServerNotifier: Service {
    private let client: MQTTClient
    private let logger: Logger

    public init(configuration: MQTTConfiguration, logger: Logger) throws {
        self.client = try MQTTClient(configuration: configuration)
        self.logger = logger
    }

    public func run() async throws {
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

    func announce(_ notice: Notice) {
        do {
            try client.publish(topic: Notice.topic(farm: notice.farmID), payload: notice.bytes)
        } catch {
            logger.debug("notice dropped", metadata: ["error": "\(error)"])
        }
    }
}
