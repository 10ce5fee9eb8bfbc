import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A cluster of real `nats-server` nodes on loopback, each with JetStream and an MQTT listener, the
/// broker that clusters (Debian's `nats-server`). Farms are kept apart by subject permissions in one
/// account, as docs/brokers.md describes for production.
public final class NATSCluster: @unchecked Sendable {
    /// A broker user: the sync server (every farm) or a device (its farm only).
    public struct User: Sendable {
        public let name: String
        public let password: String
        /// The farms it may use; nil for all of them.
        public let farms: [String]?

        public init(_ name: String, password: String, farms: [String]?) {
            self.name = name
            self.password = password
            self.farms = farms
        }
    }

    public let directory = TemporaryDirectory()
    /// Each node's MQTT port, node 0 first.
    public let mqttPorts: [Int]
    private let clusterPorts: [Int]
    private let clientPorts: [Int]
    private var processes: [ChildProcess?]

    static let binary = "/usr/sbin/nats-server"

    public init(nodes: Int = 3, users: [User]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "\(Self.binary) is missing: deploy/install-deps.sh --tests"])
        }
        mqttPorts = (0..<nodes).map { _ in Broker.freePort() }
        clusterPorts = (0..<nodes).map { _ in Broker.freePort() }
        clientPorts = (0..<nodes).map { _ in Broker.freePort() }
        processes = Array(repeating: nil, count: nodes)
        let routes = clusterPorts.map { "\"nats-route://127.0.0.1:\($0)\"" }.joined(separator: ", ")
        let userLines = users.map { user -> String in
            let subjects = user.farms.map { farms in farms.flatMap { ["\"egglogu.\($0)\"", "\"egglogu.\($0).>\""] } } ?? ["\"egglogu.>\""]
            let allowed = (subjects + ["\"$MQTT.>\""]).joined(separator: ", ")
            // A farm's changes are the server's to write: its devices only read them.
            let denied = (user.farms ?? []).map { "\"egglogu.\($0).changes\"" }.joined(separator: ", ")
            return """
                      { user: "\(user.name)", password: "\(user.password)", allowed_connection_types: ["MQTT"],
                        permissions: { publish: { allow: [\(allowed)], deny: [\(denied)] }, subscribe: [\(allowed)] } }
                """
        }.joined(separator: "\n")
        for node in 0..<nodes {
            let config = """
                server_name: n\(node)
                listen: 127.0.0.1:\(clientPorts[node])
                jetstream { store_dir: "\(directory.file("js\(node)"))", max_mem: 64M, max_file: 256M }
                cluster { name: egglogu, listen: 127.0.0.1:\(clusterPorts[node]), routes: [\(routes)] }
                mqtt { listen: 127.0.0.1:\(mqttPorts[node]) }
                accounts {
                  EGGLOGU: {
                    jetstream: enabled
                    users: [
                \(userLines)
                    ]
                  }
                  SYS: { users: [ { user: "sys", password: "\(UUID().uuidString)" } ] }
                }
                system_account: SYS
                """
            try config.write(toFile: directory.file("n\(node).conf"), atomically: true, encoding: .utf8)
        }
    }

    /// Starts every node and waits until their MQTT ports accept and JetStream has a leader.
    public func start() throws {
        for node in processes.indices { try start(node: node) }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !(0..<processes.count).contains(where: { log(node: $0).contains("metadata leader") }) {
            usleep(50_000)
        }
        guard (0..<processes.count).contains(where: { log(node: $0).contains("metadata leader") }) else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "no JetStream leader in 30 s:\n" + log(node: 0)])
        }
    }

    public func start(node: Int) throws {
        let process = try ChildProcess(
            Self.binary,
            ["-c", directory.file("n\(node).conf"), "-l", directory.file("n\(node).log")],
            stderr: directory.file("n\(node).err")
        )
        processes[node] = process
        guard Broker.waitUntilAccepting(mqttPorts[node], while: process) else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "nats-server n\(node) did not start:\n" + log(node: node)])
        }
    }

    /// Stops one node (SIGKILL: its clients see a dropped connection).
    public func kill(node: Int) {
        guard let process = processes[node] else { return }
        process.send(SIGKILL)
        process.waitForExit()
        processes[node] = nil
    }

    /// What a node logged.
    public func log(node: Int) -> String {
        ["n\(node).err", "n\(node).log"].compactMap { try? String(contentsOfFile: directory.file($0), encoding: .utf8) }.joined()
    }

    deinit {
        for node in processes.indices { kill(node: node) }
    }
}
