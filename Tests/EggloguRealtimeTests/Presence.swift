import EggloguMQTT
import Foundation

/// The retained message on a topic, read with this project's MQTT client (not `mosquitto_sub -W`,
/// whose alarm never fires in a child of a process that blocks signals).
func retainedMessage(topic: String, port: Int, within seconds: Double = 3) async throws -> String? {
    var configuration = MQTTConfiguration(host: "127.0.0.1", port: port, clientID: "presence-\(UUID().uuidString.prefix(8))")
    configuration.subscriptions = [topic]
    let client = try MQTTClient(configuration: configuration)
    async let running: Void = client.run()
    let message = await withTaskGroup(of: String?.self) { group in
        group.addTask {
            for await event in client.events {
                if case .message(_, let payload, _) = event { return String(decoding: payload, as: UTF8.self) }
            }
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
    client.stop()
    await running
    return message
}
