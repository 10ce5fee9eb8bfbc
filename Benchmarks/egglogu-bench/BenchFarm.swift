import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A broker and a sync server on free loopback ports, and the agent configurations of one farm:
/// what the benchmarks that run agent services run them against.
struct BenchFarm {
    let directory: String
    let farm: String
    let brokerPort: Int
    let serverPort: Int
    let broker: pid_t
    let server: pid_t
    private let serverBinary: String

    /// Starts mosquitto and `egglogu-sync-server serve` (with `serverArguments` added), their logs
    /// and the server's data in `directory`.
    init(directory: String, products: URL, farm: String, serverArguments: [String] = []) throws {
        self.directory = directory
        self.farm = farm
        serverBinary = products.appendingPathComponent("egglogu-sync-server").path
        brokerPort = RealtimeBenchmarks.freePort()
        serverPort = RealtimeBenchmarks.freePort()
        broker = try RealtimeBenchmarks.spawn("/usr/sbin/mosquitto", ["-p", "\(brokerPort)"], log: directory + "/mosquitto.log")
        usleep(300_000)
        do {
            server = try RealtimeBenchmarks.spawn(
                serverBinary,
                ["serve", "--data-dir", directory + "/server-data", "--port", "\(serverPort)", "--mqtt-host", "127.0.0.1"]
                    + ["--mqtt-port", "\(brokerPort)"] + serverArguments,
                log: directory + "/server.log"
            )
        } catch {
            RealtimeBenchmarks.stop(broker)
            throw error
        }
        do {
            try RealtimeBenchmarks.waitFor("listening on", in: directory + "/server.log")
        } catch {
            stop()
            throw error
        }
    }

    /// Writes `device`'s token (mode 0600) and config file, with the log level named by
    /// `EGGLOGU_BENCH_AGENT_LOG_LEVEL`, and returns the arguments of its `egglogu-agent run`.
    func agentArguments(for device: String) throws -> [String] {
        let token = try output(of: serverBinary, ["token", "--data-dir", directory + "/server-data", "--farm", farm, "--device", device])
        try token.write(toFile: "\(directory)/\(device).token", atomically: true, encoding: .utf8)
        chmod("\(directory)/\(device).token", 0o600)
        try [
            "EGGLOGU_REPLICA=\(device).sqlite", "EGGLOGU_DEVICE_ID=\(device)", "EGGLOGU_FARM_ID=\(farm)",
            "EGGLOGU_SERVER_URL=http://127.0.0.1:\(serverPort)", "EGGLOGU_TOKEN_FILE=\(device).token",
            "EGGLOGU_MQTT_HOST=127.0.0.1", "EGGLOGU_MQTT_PORT=\(brokerPort)",
            "EGGLOGU_LOG_LEVEL=\(ProcessInfo.processInfo.environment["EGGLOGU_BENCH_AGENT_LOG_LEVEL"] ?? "info")",
        ].joined(separator: "\n").write(toFile: "\(directory)/\(device).conf", atomically: true, encoding: .utf8)
        return ["run", "--config", "\(directory)/\(device).conf"]
    }

    /// Stops the server, then the broker.
    func stop() {
        RealtimeBenchmarks.stop(server)
        RealtimeBenchmarks.stop(broker)
    }
}
