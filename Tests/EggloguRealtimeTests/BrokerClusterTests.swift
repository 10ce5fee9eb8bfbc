import EggloguJSON
import EggloguMQTT
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The agents and the server against a three-node NATS cluster (JetStream on, MQTT listeners):
/// the server publishes through one node, agents listen on the others.
@Suite(.ownThreads)
struct BrokerClusterTests {
    static let farm = "farm-rt"

    let cluster: NATSCluster
    let fixture: TemporaryDirectory
    let serverPort = Broker.freePort()

    init() throws {
        cluster = try NATSCluster(users: [
            .init("egglogu-sync-server", password: "server-secret", farms: nil),
            .init("gw-a", password: "a-secret", farms: [Self.farm]),
            .init("gw-b", password: "b-secret", farms: [Self.farm]),
            .init("gw-other", password: "other-secret", farms: ["farm-other"]),
        ])
        fixture = cluster.directory
    }

    func startServer() throws -> ChildService {
        let password = try fixture.writeSecret("server-secret", to: "server-mqtt-password")
        let server = ChildService(
            "egglogu-sync-server",
            [
                "serve", "--data-dir", fixture.file("server"), "--port", "\(serverPort)", "--mqtt-host", "127.0.0.1",
                "--mqtt-port", "\(cluster.mqttPorts[0])", "--mqtt-username", "egglogu-sync-server", "--mqtt-password-file", password,
            ],
            in: fixture
        )
        try server.start(waitingFor: "listening on")
        return server
    }

    func startAgent(_ device: String, node: Int, password: String) throws -> ChildService {
        let token = try Subprocess.run(
            "egglogu-sync-server",
            ["token", "--data-dir", fixture.file("server"), "--farm", Self.farm, "--device", device],
            in: fixture
        )
        _ = try fixture.writeSecret(token.stdout, to: "\(device).token")
        _ = try fixture.writeSecret(password, to: "\(device).mqtt-password")
        let lines = [
            "EGGLOGU_REPLICA=\(device).sqlite", "EGGLOGU_DEVICE_ID=\(device)", "EGGLOGU_FARM_ID=\(Self.farm)",
            "EGGLOGU_SERVER_URL=http://127.0.0.1:\(serverPort)", "EGGLOGU_TOKEN_FILE=\(device).token", "EGGLOGU_POLL_INTERVAL=60",
            "EGGLOGU_MQTT_HOST=127.0.0.1", "EGGLOGU_MQTT_PORT=\(cluster.mqttPorts[node])", "EGGLOGU_MQTT_USERNAME=\(device)",
            "EGGLOGU_MQTT_PASSWORD_FILE=\(device).mqtt-password", "EGGLOGU_LOG_LEVEL=info",
        ]
        try lines.joined(separator: "\n").write(toFile: fixture.file("\(device).conf"), atomically: true, encoding: .utf8)
        let agent = ChildService("egglogu-agent", ["run", "--config", fixture.file("\(device).conf")], in: fixture)
        try agent.start()
        return agent
    }

    func mode(_ device: String) -> String? {
        let output = try? Subprocess.run("egglogu-agent", ["status", "--config", fixture.file("\(device).conf"), "--json"], in: fixture)
        return output.flatMap { try? JSONParser().parse($0.stdout).objectValue?["service"]?.objectValue?["mode"]?.stringValue }
    }

    func replica(_ device: String) async throws -> Replica {
        var configuration = ReplicaConfiguration()
        configuration.deviceID = device
        return try await Replica.open(path: fixture.file("\(device).sqlite"), configuration: configuration)
    }

    func has(_ device: String, _ id: String) async -> Bool {
        await (try? replica(device).get("flocks", id: id)) != nil
    }

    /// A plain MQTT client on `node`, collecting what it receives on `topics`.
    func listener(_ name: String, password: String, node: Int, topics: [String]) throws -> MQTTClient {
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: cluster.mqttPorts[node], clientID: "listener-\(name)")
        configuration.username = name
        configuration.password = password
        configuration.subscriptions = topics
        return try MQTTClient(configuration: configuration)
    }

    @Test func noticesThroughOneNodeReachAgentsOnTheOthersAndPresenceCrossesNodes() async throws {
        try cluster.start()
        let server = try startServer()
        defer { server.stop() }
        let a = try startAgent("gw-a", node: 1, password: "a-secret")
        let b = try startAgent("gw-b", node: 2, password: "b-secret")
        defer {
            a.stop()
            b.stop()
        }
        let realtime = await waitFor(timeout: 30) { mode("gw-a") == "realtime" && mode("gw-b") == "realtime" }
        #expect(realtime != nil, "\(a.stderr.suffix(1500))\n\(b.stderr.suffix(1500))\n\(cluster.log(node: 1).suffix(1500))")

        var delays: [TimeInterval] = []
        for n in 0..<5 {
            try await replica("gw-a").put("flocks", ["id": .string("f\(n)")])
            let delay = await waitFor(timeout: 30) { await has("gw-b", "f\(n)") }
            #expect(delay != nil, "f\(n) did not reach gw-b through the cluster")
            delays.append(delay ?? 30)
        }
        // Far below the 60 s poll, with room for a CI machine running every suite at once (a 2 s
        // bound failed there once at 2.08 s).
        #expect(delays.sorted()[delays.count / 2] < 15, "realtime through the cluster, not the 60 s poll")

        // gw-a's retained presence, published on node 1, is read on node 0; its clean stop says offline.
        let watcher = try listener("egglogu-sync-server", password: "server-secret", node: 0, topics: ["egglogu/\(Self.farm)/devices/+/status"])
        let presence = PresenceLog()
        let watching = Task { [watcher] in
            for await event in watcher.events {
                if case .message(let topic, let payload, _) = event { presence.add(topic, String(decoding: payload, as: UTF8.self)) }
            }
        }
        async let running: Void = watcher.run()
        let online = await waitFor(timeout: 10) { presence.last("egglogu/\(Self.farm)/devices/gw-a/status") == "online" }
        #expect(online != nil, "the retained 'online' of gw-a reached node 0: \(presence.all)")
        a.stop()
        let offline = await waitFor(timeout: 10) { presence.last("egglogu/\(Self.farm)/devices/gw-a/status") == "offline" }
        #expect(offline != nil, "gw-a's 'offline' reached node 0: \(presence.all)")
        watcher.stop()
        await running
        watching.cancel()
    }

    @Test func aDeviceOfAnotherFarmNeitherHearsNorSpeaksForThisFarm() async throws {
        try cluster.start()
        let victim = try listener("gw-a", password: "a-secret", node: 1, topics: ["egglogu/\(Self.farm)/sync", "egglogu/\(Self.farm)/changes"])
        let intruder = try listener("gw-other", password: "other-secret", node: 2, topics: ["egglogu/\(Self.farm)/sync"])
        let heard = PresenceLog()
        let victimEvents = Task { [victim] in
            for await event in victim.events {
                if case .message(let topic, let payload, _) = event { heard.add("victim " + topic, String(decoding: payload, as: UTF8.self)) }
                if case .connected = event { heard.add("victim", "connected") }
            }
        }
        let intruderEvents = Task { [intruder] in
            for await event in intruder.events {
                if case .message(let topic, let payload, _) = event { heard.add("intruder " + topic, String(decoding: payload, as: UTF8.self)) }
                if case .connected = event { heard.add("intruder", "connected") }
            }
        }
        async let v: Void = victim.run()
        async let i: Void = intruder.run()
        // A first MQTT connection to a node sets up its JetStream streams: slow on a loaded machine
        // (CI once needed more than 15 s).
        #expect(
            await waitFor(timeout: 45) { heard.last("victim") == "connected" && heard.last("intruder") == "connected" } != nil,
            "\(heard.all)\n\(cluster.log(node: 1).suffix(1500))\n\(cluster.log(node: 2).suffix(1500))"
        )
        try await Task.sleep(for: .milliseconds(300))
        try intruder.publish(topic: "egglogu/\(Self.farm)/sync", payload: Array("forged".utf8))
        let speaker = try listener("egglogu-sync-server", password: "server-secret", node: 0, topics: [])
        async let s: Void = speaker.run()
        #expect(await waitFor(timeout: 45) { speaker.isConnected } != nil)
        try speaker.publish(topic: "egglogu/\(Self.farm)/sync", payload: Array("genuine".utf8))
        #expect(await waitFor(timeout: 10) { heard.last("victim egglogu/\(Self.farm)/sync") == "genuine" } != nil)
        // The farm's changes: its own device cannot write them, the server can.
        try victim.publish(topic: "egglogu/\(Self.farm)/changes", payload: Array("forged".utf8))
        try speaker.publish(topic: "egglogu/\(Self.farm)/changes", payload: Array("genuine-changes".utf8))
        #expect(await waitFor(timeout: 10) { heard.last("victim egglogu/\(Self.farm)/changes") == "genuine-changes" } != nil)
        try await Task.sleep(for: .milliseconds(500))
        #expect(!heard.all.contains { $0.1 == "forged" }, "the other farm's device cannot publish here: \(heard.all)")
        #expect(!heard.all.contains { $0.0.hasPrefix("intruder egglogu") }, "nor hear this farm: \(heard.all)")
        #expect(cluster.log(node: 2).contains("Publish Violation"), "the broker logged the refusal")
        for client in [victim, intruder, speaker] { client.stop() }
        _ = await (v, i, s)
        victimEvents.cancel()
        intruderEvents.cancel()
    }
}

/// Messages seen, in order, by topic.
final class PresenceLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(String, String)] = []

    func add(_ topic: String, _ payload: String) { lock.withLock { entries.append((topic, payload)) } }
    func last(_ topic: String) -> String? { lock.withLock { entries.last { $0.0 == topic }?.1 } }
    var all: [(String, String)] { lock.withLock { entries } }
}
