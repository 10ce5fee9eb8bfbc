import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The brokers of mosquitto/, rendered onto loopback ports and run for real, with users made by
/// `egglogu-sync-server provision`.
@Suite(.serialized, .ownThreads) struct BrokerTopologyTests {
    /// A central broker plus a server data directory to provision devices from.
    final class Topology: @unchecked Sendable {
        let central: RenderedBroker
        let work = TemporaryDirectory()
        let serverPassword = "server-secret-\(UUID().uuidString.prefix(8))"

        init() throws {
            central = try RenderedBroker.central()
            try central.addUser("egglogu-sync-server", password: serverPassword)
            try central.start(ports: [central.mqttPort, central.tlsPort, central.webSocketsPort])
        }

        /// Provisions `device` of `farm` straight onto the central broker's files; returns the bundle.
        func provision(_ device: String, of farm: String, gatewayBroker: Bool = false) throws -> String {
            let out = work.file("bundle-\(device)-\(farm)")
            var arguments = [
                "provision", "--data-dir", work.file("server"), "--farm", farm, "--device", device, "--out", out,
                "--server-url", "http://127.0.0.1:9", "--mqtt-host", "127.0.0.1", "--mqtt-port", "\(central.tlsPort)",
                "--mqtt-ca-file", central.caFile, "--broker-dir", central.path, "--state-dir", work.path,
            ]
            if gatewayBroker { arguments.append("--gateway-broker") }
            let provisioned = try Subprocess.run("egglogu-sync-server", arguments, in: work)
            guard provisioned.status == 0 else { throw RenderError(output: provisioned.stderr) }
            central.reload()
            return out
        }

        func password(_ bundle: String) throws -> String {
            try String(contentsOfFile: bundle + "/agent/mqtt-password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// A device's client on the central TLS listener, as its bundle configures it.
        func device(_ bundle: String, _ user: String, subscribe: [String] = []) throws -> MQTTProbe {
            try MQTTProbe(port: central.tlsPort, username: user, password: try password(bundle), caFile: central.caFile, subscribe: subscribe)
        }
    }

    @Test func aDeviceOfOneFarmCanNeitherReadNorWriteAnotherFarmsTopics() async throws {
        let topology = try Topology()
        let a1 = try topology.provision("a1", of: "farmA")
        let a2 = try topology.provision("a2", of: "farmA")
        let b1 = try topology.provision("b1", of: "farmB")
        let intruder = try topology.device(a1, "a1@farmA", subscribe: ["egglogu/farmB/sync", "egglogu/farmB/#", "egglogu/#", "egglogu/farmA/sync"])
        let neighbour = try topology.device(
            a2,
            "a2@farmA",
            subscribe: ["egglogu/farmA/sync", "egglogu/farmA/sensors/#", "egglogu/farmA/devices/+/status"]
        )
        let victim = try topology.device(b1, "b1@farmB", subscribe: ["egglogu/farmB/sync", "egglogu/farmB/changes"])
        #expect(await intruder.connected(), "\(intruder.failures)")
        #expect(await neighbour.connected(), "\(neighbour.failures)")
        #expect(await victim.connected(), "\(victim.failures)")

        // Reading: farm B's notice reaches farm B (the control) and never farm A.
        try victim.publish("b-notice", to: "egglogu/farmB/sync")
        #expect(await victim.received("b-notice", on: "egglogu/farmB/sync"))
        #expect(await !intruder.received("b-notice", on: "egglogu/farmB/sync", within: 0.5))

        // Writing: a forged notice for farm B goes nowhere; the same client's own-farm notice,
        // published after it, arrives (the control), so the forged one had its chance.
        try intruder.publish("forged", to: "egglogu/farmB/sync")
        try intruder.publish("a-notice", to: "egglogu/farmA/sync")
        #expect(await neighbour.received("a-notice", on: "egglogu/farmA/sync"))
        #expect(await !victim.received("forged", on: "egglogu/farmB/sync", within: 0.5))

        // Within the farm: sensors are shared, presence is each device's own.
        try intruder.publish("21.5", to: "egglogu/farmA/sensors/house-1/temperature")
        #expect(await neighbour.received("21.5", on: "egglogu/farmA/sensors/house-1/temperature"))
        try intruder.publish("offline", to: "egglogu/farmA/devices/a2/status")
        try intruder.publish("online", to: "egglogu/farmA/devices/a1/status")
        #expect(await neighbour.received("online", on: "egglogu/farmA/devices/a1/status"))
        #expect(await !neighbour.received("offline", on: "egglogu/farmA/devices/a2/status", within: 0.3))

        // The sync server may write every farm's notices and read none.
        let server = try MQTTProbe(
            port: topology.central.mqttPort,
            username: "egglogu-sync-server",
            password: topology.serverPassword,
            subscribe: ["egglogu/#"]
        )
        #expect(await server.connected(), "\(server.failures)")
        try server.publish("from-server", to: "egglogu/farmB/sync")
        #expect(await victim.received("from-server", on: "egglogu/farmB/sync"))
        try victim.publish("b-again", to: "egglogu/farmB/sync")
        #expect(await victim.received("b-again", on: "egglogu/farmB/sync"))
        #expect(await !server.received("b-again", on: "egglogu/farmB/sync", within: 0.3))

        // The farm's changes: the server alone writes them, its devices only read them.
        try victim.publish("forged-changes", to: "egglogu/farmB/changes")
        try server.publish("changes", to: "egglogu/farmB/changes")
        #expect(await victim.received("changes", on: "egglogu/farmB/changes"))
        #expect(await !victim.received("forged-changes", on: "egglogu/farmB/changes", within: 0.3))
        for probe in [intruder, neighbour, victim, server] { await probe.stop() }
    }

    /// Client ids are the usernames: nobody can take another client's id and push it off.
    @Test func noClientCanTakeAnothersIdAndTwoFarmsMayNameADeviceAlike() async throws {
        let topology = try Topology()
        let a1 = try topology.provision("a1", of: "farmA")
        let a2 = try topology.provision("a2", of: "farmA")
        let x1 = try topology.provision("x1", of: "farmB")
        let gwA = try topology.provision("gw1", of: "farmA")
        let gwB = try topology.provision("gw1", of: "farmB")
        func probe(_ bundle: String, _ user: String, id: String, subscribe: [String] = []) throws -> MQTTProbe {
            try MQTTProbe(
                port: topology.central.tlsPort,
                username: user,
                password: try topology.password(bundle),
                caFile: topology.central.caFile,
                subscribe: subscribe,
                id: id
            )
        }
        let victim = try probe(a1, "a1@farmA", id: "egglogu-agent-a1", subscribe: ["egglogu/farmA/sync"])
        #expect(await victim.connected(), "\(victim.failures)")

        // A device of farm B connects again and again with the victim's client id.
        for _ in 0..<5 {
            let attacker = try probe(x1, "x1@farmB", id: "egglogu-agent-a1")
            #expect(await attacker.connected(), "the attacker's own login works: \(attacker.failures)")
            await attacker.stop()
        }
        let neighbour = try probe(a2, "a2@farmA", id: "egglogu-agent-a2")
        #expect(await neighbour.connected())
        try neighbour.publish("after-the-attack", to: "egglogu/farmA/sync")
        #expect(await victim.received("after-the-attack", on: "egglogu/farmA/sync"), "the victim stays in real time")
        #expect(victim.failures.isEmpty, "the victim was never pushed off: \(victim.failures)")

        // Two farms that both call a device gw1, asking for the same client id: both stay connected.
        let gatewayA = try probe(gwA, "gw1@farmA", id: "egglogu-agent-gw1", subscribe: ["egglogu/farmA/sync"])
        let gatewayB = try probe(gwB, "gw1@farmB", id: "egglogu-agent-gw1", subscribe: ["egglogu/farmB/sync"])
        #expect(await gatewayA.connected())
        #expect(await gatewayB.connected())
        try gatewayA.publish("a-notice", to: "egglogu/farmA/sync")
        try gatewayB.publish("b-notice", to: "egglogu/farmB/sync")
        #expect(await gatewayA.received("a-notice", on: "egglogu/farmA/sync"))
        #expect(await gatewayB.received("b-notice", on: "egglogu/farmB/sync"))
        #expect(gatewayA.failures.isEmpty && gatewayB.failures.isEmpty, "\(gatewayA.failures) \(gatewayB.failures)")
        for probe in [victim, neighbour, gatewayA, gatewayB] { await probe.stop() }
    }

    @Test func anonymousAndWrongPasswordClientsAreRefused() async throws {
        let topology = try Topology()
        let a1 = try topology.provision("a1", of: "farmA")
        let anonymous = try MQTTProbe(port: topology.central.mqttPort)
        let refusal = await anonymous.failure()
        #expect(refusal?.contains("refused") == true, "\(refusal ?? "no failure")")
        #expect(!anonymous.wasEverConnected)
        let wrong = try MQTTProbe(port: topology.central.tlsPort, username: "a1@farmA", password: "not-the-password", caFile: topology.central.caFile)
        #expect(await wrong.failure()?.contains("refused") == true)
        #expect(!wrong.wasEverConnected)
        let otherFarm = try MQTTProbe(
            port: topology.central.tlsPort,
            username: "a1@farmB",
            password: try topology.password(a1),
            caFile: topology.central.caFile
        )
        #expect(await otherFarm.failure() != nil)
        let right = try topology.device(a1, "a1@farmA")
        #expect(await right.connected(), "the control: the provisioned password works: \(right.failures)")
        for probe in [anonymous, wrong, otherFarm, right] { await probe.stop() }
    }

    @Test func tlsWorksWithTheGeneratedCAAndAMismatchIsNamed() async throws {
        let topology = try Topology()
        let a1 = try topology.provision("a1", of: "farmA")
        let password = try topology.password(a1)
        let trusting = try topology.device(a1, "a1@farmA")
        #expect(await trusting.connected(), "\(trusting.failures)")
        let mismatched = try MQTTProbe(port: topology.central.tlsPort, username: "a1@farmA", password: password, caFile: topology.central.otherCAFile)
        let reason = await mismatched.failure()
        #expect(reason?.contains("certificate verify failed") == true, "\(reason ?? "no failure")")
        #expect(reason?.contains("must be signed by the CA in") == true)
        #expect(!mismatched.wasEverConnected)
        let plain = try MQTTProbe(port: topology.central.tlsPort, username: "a1@farmA", password: password)
        #expect(await plain.failure() != nil)
        #expect(!plain.wasEverConnected)
        for probe in [trusting, mismatched, plain] { await probe.stop() }
    }

    /// Browsers: MQTT over secure WebSockets, as mqtt.js does it, checked by mosquitto/ws-probe.py.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
    func browsersConnectOverSecureWebSocketsWithTheSamePasswordsAndACL() throws {
        let topology = try Topology()
        let a1 = try topology.provision("a1", of: "farmA")
        let base = ["--port", "\(topology.central.webSocketsPort)", "--cafile", topology.central.caFile, "-u", "a1@farmA", "--timeout", "5"]
        let echo = try Subprocess.runTool(
            "/usr/bin/python3",
            [DeployFixture.path("mosquitto/ws-probe.py")] + base + [
                "-P", try topology.password(a1), "--subscribe", "egglogu/farmA/sync", "--publish", "egglogu/farmA/sync", "--message", "hello",
            ]
        )
        #expect(echo.status == 0, "\(echo.stderr)")
        #expect(echo.stdout.contains("egglogu/farmA/sync hello"))
        let wrong = try Subprocess.runTool("/usr/bin/python3", [DeployFixture.path("mosquitto/ws-probe.py")] + base + ["-P", "wrong"])
        #expect(wrong.status == 1, "\(wrong.stdout) \(wrong.stderr)")
    }

    /// A gateway broker bridges its farm's topics to the central broker over TLS, both ways.
    @Test func noticesCrossTheGatewayBridgeInBothDirections() async throws {
        let topology = try Topology()
        let a1 = try topology.provision("a1", of: "farmA")
        let g1 = try topology.provision("g1", of: "farmA", gatewayBroker: true)
        let gateway = try RenderedBroker.gateway(bundle: g1 + "/gateway-broker")
        try gateway.start(ports: [gateway.mqttPort])
        let local = try MQTTProbe(
            port: gateway.mqttPort,
            username: "g1@farmA",
            password: try topology.password(g1),
            subscribe: ["egglogu/farmA/sync", "egglogu/farmA/changes"]
        )
        let remote = try topology.device(a1, "a1@farmA", subscribe: ["egglogu/farmA/sync", "egglogu/farmA/changes"])
        #expect(await local.connected(), "\(local.failures)")
        #expect(await remote.connected(), "\(remote.failures)")
        // The bridge connects on its own schedule: wait until a notice from the centre gets through.
        var crossed = false
        for attempt in 0..<40 where !crossed {
            try remote.publish("down-\(attempt)", to: "egglogu/farmA/sync")
            crossed = await local.received("down-\(attempt)", on: "egglogu/farmA/sync", within: 0.25)
        }
        #expect(crossed, "central → gateway; gateway log:\n\(gateway.log)")
        try local.publish("up", to: "egglogu/farmA/sync")
        #expect(await remote.received("up", on: "egglogu/farmA/sync"), "gateway → central")
        // The server's changes come in; a local device's forged ones go nowhere.
        let server = try MQTTProbe(port: topology.central.mqttPort, username: "egglogu-sync-server", password: topology.serverPassword)
        #expect(await server.connected(), "\(server.failures)")
        try local.publish("forged", to: "egglogu/farmA/changes")
        try server.publish("from-server", to: "egglogu/farmA/changes")
        #expect(await local.received("from-server", on: "egglogu/farmA/changes"), "central → gateway")
        #expect(await remote.received("from-server", on: "egglogu/farmA/changes"))
        #expect(await !remote.received("forged", on: "egglogu/farmA/changes", within: 0.5))
        #expect(await !local.received("forged", on: "egglogu/farmA/changes", within: 0.1))
        for probe in [local, remote, server] { await probe.stop() }
    }

    /// The whole deployment: a server publishing notices as its broker user, one gateway on the
    /// central broker over TLS and one behind its own bridged broker, both configured by nothing
    /// but their provisioning bundles. An edit reaches the other gateway through the notice path
    /// (polling is 30 s, so arriving within seconds means a notice crossed the bridge).
    @Test func provisionedGatewaysSyncInRealTimeThroughTheBridge() async throws {
        let topology = try Topology()
        let passwordFile = try topology.work.writeSecret(topology.serverPassword, to: "server-mqtt-password")
        let serverPort = Broker.freePort()
        let server = ChildService(
            "egglogu-sync-server",
            [
                "serve", "--data-dir", topology.work.file("server"), "--port", "\(serverPort)", "--mqtt-host", "127.0.0.1", "--mqtt-port",
                "\(topology.central.mqttPort)",
                "--mqtt-username", "egglogu-sync-server", "--mqtt-password-file", passwordFile,
            ],
            in: topology.work
        )
        try server.start(waitingFor: "listening on")
        defer { server.stop() }
        var bundles: [String: String] = [:]
        for (device, bridged) in [("gw-direct", false), ("gw-bridged", true)] {
            let out = topology.work.file("e2e-\(device)")
            let state = topology.work.file("state-\(device)")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            let provisioned = try Subprocess.run(
                "egglogu-sync-server",
                [
                    "provision", "--data-dir", topology.work.file("server"), "--farm", "farm-e2e", "--device", device, "--out", out,
                    "--server-url", "http://127.0.0.1:\(serverPort)", "--mqtt-host", "127.0.0.1", "--mqtt-port", "\(topology.central.tlsPort)",
                    "--mqtt-ca-file", topology.central.caFile, "--broker-dir", topology.central.path, "--state-dir", state,
                ] + (bridged ? ["--gateway-broker"] : []),
                in: topology.work
            )
            #expect(provisioned.status == 0, "\(provisioned.stderr)")
            bundles[device] = out
        }
        topology.central.reload()
        let gateway = try RenderedBroker.gateway(bundle: bundles["gw-bridged"]! + "/gateway-broker")
        try gateway.start(ports: [gateway.mqttPort])
        let direct = ChildService("egglogu-agent", ["run", "--config", bundles["gw-direct"]! + "/agent/agent.conf"], in: topology.work)
        let bridged = ChildService(
            "egglogu-agent",
            ["run", "--config", bundles["gw-bridged"]! + "/agent/agent.conf"],
            environment: ["EGGLOGU_MQTT_PORT": "\(gateway.mqttPort)"],
            in: topology.work
        )
        try direct.start()
        try bridged.start()
        defer {
            direct.stop()
            bridged.stop()
        }
        func realtime(_ device: String) throws -> Bool {
            let status = try Subprocess.run("egglogu-agent", ["status", "--config", bundles[device]! + "/agent/agent.conf"], in: topology.work)
            return status.stdout.contains("service    realtime")
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, try !(realtime("gw-direct") && realtime("gw-bridged")) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try realtime("gw-direct") && realtime("gw-bridged"), "\(direct.stderr)\n\(bridged.stderr)\n\(gateway.log)")
        // The bridge may still be connecting; an edit made before it is up would wait for a poll.
        try await Task.sleep(for: .milliseconds(500))

        for (from, to, id) in [("gw-direct", "gw-bridged", "down"), ("gw-bridged", "gw-direct", "up")] {
            let put = try Subprocess.run(
                "egglogu-agent",
                ["put", "--config", bundles[from]! + "/agent/agent.conf", "flocks", #"{"id":"\#(id)"}"#],
                in: topology.work
            )
            #expect(put.status == 0, "\(put.stderr)")
            var arrived = false
            let until = Date().addingTimeInterval(5)
            while Date() < until, !arrived {
                arrived =
                    try Subprocess.run("egglogu-agent", ["get", "--config", bundles[to]! + "/agent/agent.conf", "flocks", id], in: topology.work)
                    .status == 0
                if !arrived { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(arrived, "\(from) → \(to) within 5 s: \(direct.stderr)\n\(bridged.stderr)")
        }
    }
}
