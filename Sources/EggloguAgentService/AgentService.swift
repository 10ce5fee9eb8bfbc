import EggloguAgentSync
import EggloguMQTT
import EggloguProtocol
import EggloguStore
import Logging
import ServiceLifecycle

/// `egglogu-agent run`: the sync loop, the broker link and the local-write watcher, as services
/// for one `ServiceGroup`. Shutdown goes in reverse: the watcher stops, the sync in flight
/// finishes, the offline status is published and the broker left, then the transport closes.
public struct AgentService: Sendable {
    public let replica: Replica
    public let farm: String
    public let transport: any SyncTransport
    public let token: TokenStore
    public let clock: ClockCorrection
    public let configuration: AgentServiceConfiguration
    public let hooks: AgentHooks
    /// Counters and events; pass the same monitor to every generation of a reloaded service.
    public let monitor: AgentMonitor
    private let wakeup = Wakeup()
    private let state: AgentState

    public init(
        replica: Replica,
        farm: String,
        transport: any SyncTransport,
        token: TokenStore,
        clock: ClockCorrection,
        configuration: AgentServiceConfiguration,
        hooks: AgentHooks = AgentHooks(),
        monitor: AgentMonitor = AgentMonitor()
    ) {
        self.replica = replica
        self.farm = farm
        self.transport = transport
        self.token = token
        self.clock = clock
        self.configuration = configuration
        self.hooks = hooks
        self.monitor = monitor
        self.state = AgentState(
            replica: replica,
            brokerConfigured: configuration.mqtt != nil,
            monitor: monitor,
            onChange: hooks.status
        )
    }

    /// Asks for a sync cycle now, as after a local write: it pushes, and the server's notice wakes the farm's other devices.
    public func requestPush() {
        wakeup.signal(.push)
    }

    /// Records where the local web page listens, for `status`.
    public func webListening(at url: String?) {
        state.web(url: url)
    }

    /// The services, in start order. A broker that cannot even be set up (unreadable TLS files,
    /// say) is logged and left out: the agent polls instead. The broker link and the watcher are
    /// optional: if either stops, the agent syncs on without it, polling.
    public func services(logger: Logger) -> [any Service] {
        let (wakeup, state, monitor) = (self.wakeup, self.state, self.monitor)
        let sync = AgentSync(
            replica: replica,
            farm: farm,
            transport: transport,
            token: token,
            observe: { monitor.requestFinished($0) },
            progress: { state.catchingUp($0) }
        )
        var broker: BrokerLink?
        if var mqtt = configuration.mqtt {
            BrokerLink.configure(&mqtt, farm: farm, device: replica.deviceID)
            do {
                broker = BrokerLink(
                    client: try MQTTClient(configuration: mqtt),
                    sync: sync,
                    state: state,
                    monitor: monitor,
                    wakeup: wakeup,
                    logger: logger
                )
            } catch {
                logger.error("broker settings unusable; polling only", metadata: ["host": "\(mqtt.host):\(mqtt.port)", "error": "\(error)"])
                state.broker(connected: false, error: "\(error)")
            }
        } else {
            logger.info("no broker configured: polling only", metadata: ["interval": "\(configuration.pollInterval)s"])
        }
        let loop = SyncLoop(
            sync: sync,
            state: state,
            monitor: monitor,
            wakeup: wakeup,
            clockCorrection: clock,
            configuration: configuration,
            hooks: hooks,
            logger: logger,
            timing: SyncLoop.system
        )
        let watcher = OptionalService(
            LocalChangeWatcher(replica: replica, wakeup: wakeup, logger: logger),
            name: "local-change watcher",
            logger: logger
        ) {
            state.stoppedWatchingLocalWrites()
            wakeup.signal(.reschedule)
        }
        let brokerService = broker.map { broker in
            OptionalService(broker, name: "broker link", logger: logger) {
                state.broker(connected: false, error: "the broker link stopped")
                wakeup.signal(.reschedule)
            }
        }
        let resources = Resources(transport: transport, state: state, monitor: monitor, logger: logger, farm: farm, replica: replica)
        return [resources] + (brokerService.map { [$0] } ?? []) + [loop, watcher]
    }

    /// First to start, last to stop: writes the service's state to the replica while it runs,
    /// and closes the transport and marks the service stopped once everything else has.
    private struct Resources: Service {
        let transport: any SyncTransport
        let state: AgentState
        let monitor: AgentMonitor
        let logger: Logger
        let farm: String
        let replica: Replica

        func run() async throws {
            async let stateWriter: Void = state.run()
            state.publish()
            monitor.record("started", "agent running for farm \(farm) as \(replica.deviceID)")
            logger.info("agent running", metadata: ["farm": "\(farm)", "device": "\(replica.deviceID)", "replica": "\(replica.path)"])
            try? await gracefulShutdown()
            await transport.shutdown()
            await state.stopped()
            await stateWriter
            logger.info("agent stopped")
        }
    }
}

/// What the agent tells its supervisor: a heartbeat from the sync loop, and a one-line status.
public struct AgentHooks: Sendable {
    /// The sync loop wakes at least this often to call ``heartbeat``.
    public var heartbeatInterval: Duration?
    public var heartbeat: @Sendable () -> Void = {}
    /// Called with a one-line summary (mode, queued changes) whenever it changes.
    public var status: @Sendable (String) -> Void = { _ in }

    public init() {}
}
