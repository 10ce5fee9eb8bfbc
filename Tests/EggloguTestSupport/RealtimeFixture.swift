import EggloguJSON
import EggloguStore
import Foundation

/// A broker, a server and agent services, all real, on loopback.
public final class RealtimeFixture: @unchecked Sendable {
    public let directory = TemporaryDirectory()
    public let broker: Broker
    public let serverPort = Broker.freePort()
    public private(set) var server: ChildService!
    public private(set) var agents: [String: ChildService] = [:]
    /// More arguments for `egglogu-sync-server serve` from the next start on.
    public var serverArguments: [String] = []
    /// Where agents started from now on reach the server, when not directly (a ``FaultProxy``).
    public var agentServerURL: String?
    /// Replicas kept elsewhere than the fixture's directory (on a small disk), by device.
    public var replicaLocations: [String: String] = [:]
    public var serverURL: String { "http://127.0.0.1:\(serverPort)" }

    public init(broker: Broker? = nil) throws {
        self.broker = try broker ?? Broker()
        try self.broker.start()
        try startServer()
    }

    public func startServer() throws {
        server = ChildService(
            "egglogu-sync-server",
            [
                "serve", "--data-dir", directory.file("server"), "--port", "\(serverPort)", "--mqtt-host", "127.0.0.1",
                "--mqtt-port", "\(broker.port)",
            ] + serverArguments,
            in: directory
        )
        try server.start(waitingFor: "listening on")
    }

    public func stopServer() {
        server.stop()
    }

    /// Starts `egglogu-agent run` for `device`, with a config file of its own.
    @discardableResult
    public func startAgent(_ device: String, pollInterval: Double = 30, broker: Bool = true, extra: [String: String] = [:]) throws -> ChildService {
        let tokenFile = directory.file("\(device).token")
        if !FileManager.default.fileExists(atPath: tokenFile) {
            let token = try Subprocess.run(
                "egglogu-sync-server",
                ["token", "--data-dir", directory.file("server"), "--farm", "farm-rt", "--device", device],
                in: directory
            )
            try directory.writeSecret(token.stdout, to: "\(device).token")
        }
        var lines = [
            "EGGLOGU_REPLICA=\(replicaPath(device))", "EGGLOGU_DEVICE_ID=\(device)", "EGGLOGU_FARM_ID=farm-rt",
            "EGGLOGU_SERVER_URL=\(agentServerURL ?? serverURL)", "EGGLOGU_TOKEN_FILE=\(device).token", "EGGLOGU_POLL_INTERVAL=\(pollInterval)",
            "EGGLOGU_LOG_LEVEL=info",
        ]
        if broker { lines += ["EGGLOGU_MQTT_HOST=127.0.0.1", "EGGLOGU_MQTT_PORT=\(self.broker.port)"] }
        lines += extra.map { "\($0.key)=\($0.value)" }
        try lines.joined(separator: "\n").write(toFile: config(device), atomically: true, encoding: .utf8)
        let agent = ChildService("egglogu-agent", ["run", "--config", config(device)], in: directory)
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
        let services = [("server", server)] + agents.sorted { $0.key < $1.key }.map { ($0.key, Optional($0.value)) }
        return services.compactMap { name, service in
            service.map { "--- \(name)\n" + $0.stderr.split(separator: "\n").suffix(25).joined(separator: "\n") }
        }.joined(separator: "\n")
    }

    public func stopAll() {
        for agent in agents.values { agent.stop() }
        server?.stop()
        broker.kill()
    }
}
