import ArgumentParser
import Foundation

extension EggloguBench {
    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure concurrent pushes of one farm on one server instance and on two sharing one data directory."
        )

        @Option(parsing: .upToNextOption, help: "Concurrent devices, one run each.")
        var devices: [Int] = [50, 200]

        @Option(name: .customLong("requests"), help: "Pushes per device.")
        var requests = 20

        @Flag(help: "10 devices of 5 pushes: checks that the benchmark runs.")
        var quick = false

        @Option(help: "Also run on PostgreSQL: a postgres:// URL of an empty database, or 'private' for a cluster of its own.")
        var database: String?

        func run() async throws {
            try await measuring("load") { work, products, figures in
                let serverBinary = products.appendingPathComponent("egglogu-sync-server").path
                let stores = [BenchDatabase.sqlite] + (database.map { [BenchDatabase.named($0)] } ?? [])
                for count in quick ? [10] : devices {
                    for store in stores {
                        for instances in [1, 2] {
                            let data = "\(work)/data-\(count)-\(instances)-\(store.name)"
                            let store = try store.fresh()
                            var servers: [ServerProcess] = []
                            defer { for server in servers { server.stop() } }
                            for n in 0..<instances {
                                servers.append(
                                    try ServerProcess.start(
                                        binary: serverBinary,
                                        dataDir: data,
                                        log: "\(data)-server-\(n).log",
                                        arguments: store.arguments
                                    )
                                )
                            }
                            try await SyncBenchmarks.load(
                                urls: servers.map(\.url),
                                data: data,
                                serverBinary: serverBinary,
                                devices: count,
                                requestsPerDevice: quick ? 5 : requests,
                                store: store,
                                into: &figures
                            )
                        }
                    }
                }
            }
        }
    }
}
