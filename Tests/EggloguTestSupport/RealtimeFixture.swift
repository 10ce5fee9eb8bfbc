import EggloguJSON
import EggloguStore
import Foundation

/// A broker, one or more server instances and agent services, all real, on loopback.
public final class RealtimeFixture: @unchecked Sendable {
    public let directory = TemporaryDirectory()
    public let broker: Broker
    /// The instances' ports; instance 0 is ``server``.
    public let serverPorts: [Int]
    public private(set) var servers: [ChildService?]
    public private(set) var agents: [String: ChildService] = [:]
    /// `--database URL` when the instances share a PostgreSQL database, else nothing (SQLite).
    public let databaseArguments: [String]
    /// More arguments for `egglogu-sync-server serve` from the next start on.
    public var serverArguments: [String] = []
    /// Where each agent started from now on reaches the server, when not directly (a ``FaultProxy``).
    public var agentServerURLs: [String: String] = [:]
    /// The broker port each agent started from now on connects to, when not the broker's own.
    public var agentBrokerPorts: [String: Int] = [:]
    /// More environment for each agent started from now on (a ``ClockShift``).
    public var agentEnvironments: [String: [String: String]] = [:]
    /// Replicas kept elsewhere than the fixture's directory (on a small disk), by device.
    public var replicaLocations: [String: String] = [:]

    public var server: ChildService { servers[0]! }
    public var serverPort: Int { serverPorts[0] }
    public var serverURL: String { serverURL(0) }
    public func serverURL(_ instance: Int) -> String { "http://127.0.0.1:\(serverPorts[instance])" }

    /// Starts the broker and `instances` servers on one data directory, sharing `database` when given.
    public init(broker: Broker? = nil, database: String? = nil, instances: Int = 1) throws {
        self.broker = try broker ?? Broker()
        serverPorts = (0..<instances).map { _ in Broker.freePort() }
        servers = Array(repeating: nil, count: instances)
        databaseArguments = database.map { ["--database", $0] } ?? []
        try self.broker.start()
        for instance in 0..<instances { try startServer(instance) }
    }

    public func startServer(_ instance: Int = 0) throws {
        let service = ChildService(
            "egglogu-sync-server",
            [
                "serve", "--data-dir", directory.file("server"), "--port", "\(serverPorts[instance])", "--mqtt-host", "127.0.0.1",
                "--mqtt-port", "\(broker.port)",
            ] + databaseArguments + serverArguments,
            in: directory
        )
        servers[instance] = service
        try service.start(waitingFor: "listening on")
    }

    public func stopServer(_ instance: Int = 0) {
        servers[instance]?.stop()
    }

    /// Mints a device token (`egglogu-sync-server token`) for `device` of farm-rt.
    public func mintToken(_ device: String) throws -> String {
        let token = try Subprocess.run(
            "egglogu-sync-server",
            ["token", "--data-dir", directory.file("server"), "--farm", "farm-rt", "--device", device] + databaseArguments,
            in: directory
        )
        return token.stdout
    }

    /// Starts `egglogu-agent run` for `device`, with a config file of its own.
    @discardableResult
    public func startAgent(_ device: String, pollInterval: Double = 30, broker: Bool = true, extra: [String: String] = [:]) throws -> ChildService {
        let tokenFile = directory.file("\(device).token")
        if !FileManager.default.fileExists(atPath: tokenFile) {
            try directory.writeSecret(try mintToken(device), to: "\(device).token")
        }
        var lines = [
            "EGGLOGU_REPLICA=\(replicaPath(device))", "EGGLOGU_DEVICE_ID=\(device)", "EGGLOGU_FARM_ID=farm-rt",
            "EGGLOGU_SERVER_URL=\(agentServerURLs[device] ?? serverURL)", "EGGLOGU_TOKEN_FILE=\(device).token",
            "EGGLOGU_POLL_INTERVAL=\(pollInterval)",
            "EGGLOGU_LOG_LEVEL=info",
        ]
        if broker { lines += ["EGGLOGU_MQTT_HOST=127.0.0.1", "EGGLOGU_MQTT_PORT=\(agentBrokerPorts[device] ?? self.broker.port)"] }
        lines += extra.map { "\($0.key)=\($0.value)" }
        try lines.joined(separator: "\n").write(toFile: config(device), atomically: true, encoding: .utf8)
        let agent = ChildService("egglogu-agent", ["run", "--config", config(device)], environment: agentEnvironments[device] ?? [:], in: directory)
        try agent.start()
        agents[device] = agent
        return agent
    }

    public func config(_ device: String) -> String { directory.file("\(device).conf") }
    public func replicaPath(_ device: String) -> String { replicaLocations[device] ?? directory.file("\(device).sqlite") }

    /// The device's replica, opened by this test process (a local write "from another path").
    public func replica(_ device: String) async throws -> Replica {
        var configuration = ReplicaConfiguration()
        configuration.deviceID = device
        return try await Replica.open(path: replicaPath(device), configuration: configuration)
    }

    /// The service block of `egglogu-agent status --json`.
    public func service(_ device: String) throws -> JSONObject? {
        let output = try Subprocess.run("egglogu-agent", ["status", "--config", config(device), "--json"], in: directory)
        return try? JSONParser().parse(output.stdout).objectValue?["service"]?.objectValue
    }

    /// Waits until `condition` holds, checking every 5 ms; returns the time it took, or nil after `timeout`.
    public func waitUntil(timeout: TimeInterval, _ condition: () async throws -> Bool) async rethrows -> TimeInterval? {
        try await waitFor(timeout: timeout, every: .milliseconds(5), condition)
    }

    public func has(_ device: String, _ collection: String, _ id: String) async -> Bool {
        await (try? replica(device).get(collection, id: id)) != nil
    }

    public func mode(_ device: String) -> String? {
        (try? service(device))?["mode"]?.stringValue
    }

    /// The last lines each service logged, for a failure message.
    public var logs: String {
        let instances = servers.enumerated().map { ($0.offset == 0 ? "server" : "server \($0.offset)", $0.element) }
        let services = instances + agents.sorted { $0.key < $1.key }.map { ($0.key, Optional($0.value)) }
        return services.compactMap { name, service in
            service.map { "--- \(name)\n" + $0.stderr.split(separator: "\n").suffix(25).joined(separator: "\n") }
        }.joined(separator: "\n")
    }

    public func stopAll() {
        for agent in agents.values { agent.stop() }
        for server in servers { server?.stop() }
        broker.kill()
    }
}
