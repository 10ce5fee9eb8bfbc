import EggloguMQTT
import Foundation
import Synchronization

/// A plain MQTT client on a real broker: connects, records every message, reports refusals.
final class MQTTProbe: Sendable {
    let client: MQTTClient
    private final class Seen: Sendable {
        let state = Mutex<(connected: Bool, failures: [String], messages: [(topic: String, payload: String)])>((false, [], []))
        func withLock<T>(_ body: (inout (connected: Bool, failures: [String], messages: [(topic: String, payload: String)])) -> T) -> T {
            state.withLock { body(&$0) }
        }
    }

    private let seen = Seen()
    private let task: Task<Void, Never>

    init(
        port: Int,
        username: String? = nil,
        password: String? = nil,
        caFile: String? = nil,
        subscribe: [String] = [],
        id: String = "probe-\(UUID().uuidString.prefix(8))"
    ) throws {
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: port, clientID: id)
        configuration.username = username
        configuration.password = password
        configuration.tls = caFile.map { .init(caFile: $0) }
        configuration.subscriptions = subscribe
        configuration.backoffFloorSeconds = 0.2
        configuration.backoffCapSeconds = 0.5
        let client = try MQTTClient(configuration: configuration)
        self.client = client
        let seen = self.seen
        task = Task.detached {
            async let running: Void = client.run()
            for await event in client.events {
                switch event {
                case .connected: seen.withLock { $0.connected = true }
                case .disconnected(let reason, _): seen.withLock { $0.failures.append(reason) }
                case .message(let topic, let payload, _): seen.withLock { $0.messages.append((topic, String(decoding: payload, as: UTF8.self))) }
                }
            }
            await running
        }
    }

    deinit {
        client.stop()
    }

    /// Waits for the broker to accept the connection (and the subscriptions to be made).
    func connected(within seconds: Double = 30) async -> Bool {
        let ok = await until(seconds) { self.seen.withLock { $0.connected } }
        try? await Task.sleep(for: .milliseconds(150))
        return ok
    }

    /// The first reason the connection failed, if it failed within `seconds`.
    func failure(within seconds: Double = 15) async -> String? {
        _ = await until(seconds) { !self.seen.withLock { $0.failures.isEmpty } }
        return seen.withLock { $0.failures.first }
    }

    var wasEverConnected: Bool { seen.withLock { $0.connected } }

    /// Every reason the connection failed so far, for failure messages.
    var failures: [String] { seen.withLock { $0.failures } }

    /// Whether `payload` arrived on `topic` within `seconds`.
    func received(_ payload: String, on topic: String, within seconds: Double = 10) async -> Bool {
        await until(seconds) { self.seen.withLock { $0.messages.contains { $0.topic == topic && $0.payload == payload } } }
    }

    func publish(_ payload: String, to topic: String) throws {
        try client.publish(topic: topic, payload: Array(payload.utf8))
    }

    func stop() async {
        client.stop()
        await task.value
    }

    private func until(_ seconds: Double, _ condition: @escaping @Sendable () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}
