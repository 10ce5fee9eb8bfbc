import ArgumentParser
import EggloguMQTT
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension EggloguBench {
    /// MQTT in a process with more than 1,024 files open, where select(2) cannot watch the
    /// sockets: one client's socket, and another's wake-up socket pair while its connection gets a
    /// low number. It runs as a process of its own because such a process breaks Foundation's
    /// `Process.run()`, which the test process uses all the time.
    struct HighFilesCheck: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "high-files-check",
            abstract: "Check MQTT with sockets numbered above 1,024 against a broker (for the tests).",
            shouldDisplay: false
        )

        @Option(help: "The broker's port on 127.0.0.1.")
        var port: Int

        func run() async throws {
            var filler = (0..<1_100).map { _ in open("/dev/null", O_RDONLY) }
            guard filler.allSatisfy({ $0 >= 0 }) else { throw BenchError("cannot open 1,100 files (ulimit -n?)") }
            let listener = try client("high-listener", subscriptions: ["egglogu/f1/sync"])
            let speaker = try client("high-speaker", subscriptions: [])
            async let listening: Void = listener.run()
            var speaking: Task<Void, Never>?
            var failure: String?
            if await next(listener, { $0 == .connected }) == nil {
                failure = "a socket above 1,024: no connection"
            } else {
                // The speaker's socket pair was made above 1,024; its connection gets a low number.
                for fd in filler { close(fd) }
                filler = []
                speaking = Task { await speaker.run() }
                if await next(speaker, { $0 == .connected }) == nil {
                    failure = "a socket pair above 1,024: no connection"
                } else {
                    try await Task.sleep(for: .milliseconds(100))
                    try speaker.publish(topic: "egglogu/f1/sync", payload: Array("high".utf8))
                    let received = await next(listener) { if case .message = $0 { true } else { false } }
                    if received != .message(topic: "egglogu/f1/sync", payload: Array("high".utf8)) {
                        failure = "the message did not arrive: \(String(describing: received))"
                    }
                }
            }
            listener.stop()
            speaker.stop()
            await listening
            await speaking?.value
            if let failure { throw BenchError(failure) }
            print("high-files-check: connected, published and received")
        }

        private func client(_ id: String, subscriptions: [String]) throws -> MQTTClient {
            var configuration = MQTTConfiguration(host: "127.0.0.1", port: port, clientID: id)
            configuration.subscriptions = subscriptions
            configuration.backoffFloorSeconds = 0.1
            configuration.backoffCapSeconds = 0.4
            return try MQTTClient(configuration: configuration)
        }

        private func next(_ client: MQTTClient, _ match: @escaping @Sendable (MQTTEvent) -> Bool) async -> MQTTEvent? {
            await withTaskGroup(of: MQTTEvent?.self) { group in
                group.addTask {
                    for await event in client.events where match(event) { return event }
                    return nil
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(10))
                    return nil
                }
                let first = await group.next()!
                group.cancelAll()
                return first
            }
        }
    }
}
