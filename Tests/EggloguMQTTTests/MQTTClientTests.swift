import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

@testable import EggloguMQTT

/// The MQTT client against a real mosquitto.
@Suite(.ownThreads) struct MQTTClientTests {
    func client(_ id: String, port: Int, subscribe: [String] = [], configure: (inout MQTTConfiguration) -> Void = { _ in }) throws -> MQTTClient {
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: port, clientID: id)
        configuration.subscriptions = subscribe
        configuration.backoffFloorSeconds = 0.1
        configuration.backoffCapSeconds = 0.4
        configure(&configuration)
        return try MQTTClient(configuration: configuration)
    }

    /// The next event that satisfies `match`, or nil after `seconds`.
    func next(_ client: MQTTClient, within seconds: Double = 10, _ match: @escaping @Sendable (MQTTEvent) -> Bool) async -> MQTTEvent? {
        await withTaskGroup(of: MQTTEvent?.self) { group in
            group.addTask {
                for await event in client.events where match(event) { return event }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
    }

    /// A process with more than 1,024 files open gets sockets select(2) cannot watch: one client's
    /// socket, and another's wake-up socket pair while its connection gets a low number. Both still
    /// connect, publish and receive (through poll(2)). The check runs in a process of its own:
    /// that many files open in the test process break Foundation's `Process.run()` beside it.
    @Test func socketsNumberedAbove1024StillWork() async throws {
        let broker = try Broker()
        try broker.start()
        let dir = TemporaryDirectory()
        let check = try await offPool {
            try Subprocess.run("egglogu-bench", ["high-files-check", "--port", "\(broker.port)"], in: dir)
        }
        #expect(check.status == 0, "\(check.stdout)\n\(check.stderr)")
        #expect(check.stdout.contains("connected, published and received"))
    }

    @Test func publishesAndReceivesAtQoS1() async throws {
        let broker = try Broker()
        try broker.start()
        let listener = try client("listener", port: broker.port, subscribe: ["egglogu/f1/sync"])
        let speaker = try client("speaker", port: broker.port)
        async let a: Void = listener.run()
        async let b: Void = speaker.run()
        #expect(await next(listener) { $0 == .connected } != nil)
        #expect(await next(speaker) { $0 == .connected } != nil)
        try await Task.sleep(for: .milliseconds(100))
        try speaker.publish(topic: "egglogu/f1/sync", payload: Array("hello".utf8))
        let received = await next(listener) { if case .message = $0 { true } else { false } }
        #expect(received == .message(topic: "egglogu/f1/sync", payload: Array("hello".utf8)))
        listener.stop()
        speaker.stop()
        _ = await (a, b)
    }

    /// A clean stop says its will itself and then DISCONNECT, so the broker never publishes the Last
    /// Will too: it did when the socket closed with the will's PUBACK (or a notice) still unread.
    @Test func aCleanStopPublishesTheWillOnceAndTheBrokerNeverAddsTheLastWill() async throws {
        let broker = try Broker()
        try broker.start()
        let listener = try client("listener", port: broker.port, subscribe: ["status/#"])
        let chatter = try client("chatter", port: broker.port)
        async let a: Void = listener.run()
        async let b: Void = chatter.run()
        #expect(await next(listener) { $0 == .connected } != nil)
        #expect(await next(chatter) { $0 == .connected } != nil)
        let rounds = 15
        for round in 0..<rounds {
            let gateway = try client("gw-\(round)", port: broker.port, subscribe: ["chatter"]) {
                $0.will = .init(topic: "status/gw-\(round)", payload: Array("offline".utf8), retain: false)
            }
            async let run: Void = gateway.run()
            #expect(await next(gateway) { $0 == .connected } != nil)
            for _ in 0..<5 { try chatter.publish(topic: "chatter", payload: Array(repeating: 7, count: 512)) }
            gateway.stop(publishingWill: true)
            await run
        }
        try await Task.sleep(for: .milliseconds(500))
        listener.stop()
        chatter.stop()
        _ = await (a, b)
        var counts: [String: Int] = [:]
        for await event in listener.events {
            if case .message(let topic, let payload, _) = event, payload == Array("offline".utf8) { counts[topic, default: 0] += 1 }
        }
        #expect(counts.count == rounds && counts.values.allSatisfy { $0 == 1 }, "\(counts.sorted { $0.key < $1.key })")
    }

    @Test func aBrokerThatIsDownAtStartIsReachedWhenItComesUpAndSubscriptionsAreRemade() async throws {
        let broker = try Broker()
        let listener = try client("listener", port: broker.port, subscribe: ["t/1"])
        async let running: Void = listener.run()
        let failure = await next(listener) { if case .disconnected = $0 { true } else { false } }
        guard case .disconnected(let reason, let retry)? = failure else {
            Issue.record("expected a failed connect")
            return
        }
        #expect(reason.contains("cannot connect"))
        #expect(retry > 0 && retry <= 0.4)
        try broker.start()
        #expect(await next(listener) { $0 == .connected } != nil)
        broker.kill()
        #expect(await next(listener) { if case .disconnected = $0 { true } else { false } } != nil)
        try broker.start()
        #expect(await next(listener) { $0 == .connected } != nil)
        let speaker = try client("speaker", port: broker.port)
        async let speaking: Void = speaker.run()
        #expect(await next(speaker) { $0 == .connected } != nil)
        try await Task.sleep(for: .milliseconds(100))
        try speaker.publish(topic: "t/1", payload: [1, 2, 3])
        #expect(await next(listener) { $0 == .message(topic: "t/1", payload: [1, 2, 3]) } != nil, "re-subscribed after the restart")
        listener.stop()
        speaker.stop()
        _ = await (running, speaking)
    }

    @Test func badCredentialsAndUnknownHostsAreRetriedForever() async throws {
        let broker = try Broker(users: ["gw": "right"])
        try broker.start()
        let wrong = try client("wrong", port: broker.port) {
            $0.username = "gw"
            $0.password = "wrong"
        }
        async let a: Void = wrong.run()
        var refusals = 0
        for await event in wrong.events {
            if case .disconnected(let reason, _) = event, reason.contains("refused") { refusals += 1 }
            if refusals == 3 { break }
        }
        #expect(refusals == 3)
        wrong.stop()
        await a
        let anonymous = try client("anonymous", port: broker.port)
        async let b: Void = anonymous.run()
        #expect(await next(anonymous) { if case .disconnected(let reason, _) = $0 { reason.contains("refused") } else { false } } != nil)
        anonymous.stop()
        await b
        let right = try client("right", port: broker.port) {
            $0.username = "gw"
            $0.password = "right"
        }
        async let c: Void = right.run()
        #expect(await next(right) { $0 == .connected } != nil)
        right.stop()
        await c
        var lookups = 0
        let nowhere = try client("nowhere", port: 1883) { $0.host = "no-such-host.invalid" }
        async let d: Void = nowhere.run()
        for await event in nowhere.events {
            if case .disconnected = event { lookups += 1 }
            if lookups == 2 { break }
        }
        nowhere.stop()
        await d
        #expect(lookups == 2)
    }

    @Test func backoffDoublesWithJitterUpToTheCap() throws {
        var configuration = MQTTConfiguration(host: "127.0.0.1", clientID: "x")
        configuration.backoffFloorSeconds = 1
        configuration.backoffCapSeconds = 120
        let client = try MQTTClient(configuration: configuration)
        for _ in 0..<50 {
            #expect((0.5...1).contains(client.backoff(1)))
            #expect((4...8).contains(client.backoff(4)))
            #expect((60...120).contains(client.backoff(30)))
        }
        let samples = Set((0..<20).map { _ in client.backoff(3) })
        #expect(samples.count > 1, "jitter")
    }

    @Test func publishingWhileDisconnectedThrows() throws {
        let client = try client("idle", port: Broker.freePort())
        #expect(throws: MQTTError.self) { try client.publish(topic: "t", payload: [1]) }
    }
}

/// TLS and MQTT 5 against a real mosquitto.
@Suite(.ownThreads) struct MQTTTransportTests {
    @Test func tlsWithTheCAConnectsAndWithoutItKeepsRetrying() async throws {
        let certificates = TemporaryDirectory()
        try Certificates.make(in: certificates)
        let broker = try Broker(tls: (certificates.file("ca.pem"), certificates.file("server.pem"), certificates.file("server.key")))
        try broker.start()
        var trusting = MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "tls-ok")
        trusting.tls = .init(caFile: certificates.file("ca.pem"))
        let good = try MQTTClient(configuration: trusting)
        async let a: Void = good.run()
        var connected = false
        for await event in good.events {
            if event == .connected {
                connected = true
                break
            }
        }
        #expect(connected)
        good.stop()
        await a
        var plain = MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "plain")
        plain.backoffFloorSeconds = 0.05
        plain.backoffCapSeconds = 0.1
        let bad = try MQTTClient(configuration: plain)
        async let b: Void = bad.run()
        var failures = 0
        for await event in bad.events {
            if event == .connected { Issue.record("a plain client must not get through a TLS listener") }
            if case .disconnected = event { failures += 1 }
            if failures == 2 { break }
        }
        bad.stop()
        await b
    }

    @Test func mqtt5Works() async throws {
        let broker = try Broker()
        try broker.start()
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "v5")
        configuration.protocolVersion = .v5
        configuration.subscriptions = ["v5/topic"]
        let client = try MQTTClient(configuration: configuration)
        async let running: Void = client.run()
        for await event in client.events where event == .connected { break }
        try await Task.sleep(for: .milliseconds(100))
        try client.publish(topic: "v5/topic", payload: [42])
        for await event in client.events {
            if case .message(let topic, let payload, _) = event {
                #expect(topic == "v5/topic" && payload == [42])
                break
            }
        }
        client.stop()
        await running
    }
}
