import EggloguAgentSync
import EggloguMQTT
import EggloguStore
import EggloguSyncClient
import Logging
import ServiceLifecycle

/// `egglogu-agent run`: the sync loop, the broker link and the local-write watcher in one
/// `ServiceGroup` that shuts down on SIGTERM or SIGINT. Shutdown goes in reverse: the watcher
/// stops, the sync in flight finishes, then the offline status is published and the broker left.
public struct AgentService: Sendable {
    public let replica: Replica
    public let farm: String
    public let client: SyncClient
    public let token: TokenStore
    public let clock: ClockCorrection
    public let configuration: AgentServiceConfiguration

    public init(
        replica: Replica, farm: String, client: SyncClient, token: TokenStore, clock: ClockCorrection,
        configuration: AgentServiceConfiguration
    ) {
        self.replica = replica
        self.farm = farm
        self.client = client
        self.token = token
        self.clock = clock
        self.configuration = configuration
    }

    /// Runs until SIGTERM or SIGINT.
    public func run(logger: Logger) async throws {
        let wakeup = Wakeup()
        let state = AgentState(replica: replica, brokerConfigured: configuration.mqtt != nil)
        state.publish()
        defer { state.stopped() }
        var broker: BrokerLink?
        if var mqtt = configuration.mqtt {
            BrokerLink.configure(&mqtt, farm: farm, device: replica.deviceID)
            broker = BrokerLink(client: try MQTTClient(configuration: mqtt), replica: replica, farm: farm, state: state, wakeup: wakeup, logger: logger)
        } else {
            logger.info("no broker configured: polling only", metadata: ["interval": "\(configuration.pollInterval)s"])
        }
        let link = broker
        let loop = SyncLoop(
            sync: AgentSync(replica: replica, farm: farm, client: client, token: token), state: state, wakeup: wakeup,
            clock: clock, configuration: configuration, logger: logger, announce: { link?.announce($0) })
        let watcher = LocalChangeWatcher(replica: replica, wakeup: wakeup, logger: logger)
        let services: [any Service] = (broker.map { [$0] } ?? []) + [loop, watcher]
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("agent running", metadata: ["farm": "\(farm)", "device": "\(replica.deviceID)", "replica": "\(replica.path)"])
        try await group.run()
        await client.shutdown()
        logger.info("agent stopped")
    }
}
