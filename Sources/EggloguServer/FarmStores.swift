import EggloguCore
import EggloguHTTP
import EggloguStore
import NIOPosix
import Synchronization

/// One replica per farm, opened on first use and kept open.
final class FarmStores: Sendable {
    let directory: DataDirectory
    private let maxClockSkewMilliseconds: Int64
    private let open = Mutex<[String: Replica]>([:])

    init(directory: DataDirectory, maxClockSkewMilliseconds: Int64) {
        self.directory = directory
        self.maxClockSkewMilliseconds = maxClockSkewMilliseconds
    }

    /// The replica of `farm`, created empty if the farm is new.
    func replica(_ farm: String) throws -> Replica {
        guard DataDirectory.isValidFarmID(farm) else {
            throw APIError(.badRequest, "bad-farm", "a farm id is 1 to 64 letters, digits, '.', '_' or '-'")
        }
        if let replica = open.withLock({ $0[farm] }) { return replica }
        var configuration = ReplicaConfiguration()
        configuration.deviceID = "server"
        configuration.farmID = farm
        configuration.role = .server
        configuration.maxClockSkewMilliseconds = maxClockSkewMilliseconds
        let replica = try Replica.open(path: directory.farmReplica(farm), configuration: configuration)
        return open.withLock { stores in
            if let existing = stores[farm] { return existing }
            stores[farm] = replica
            return replica
        }
    }
}

/// Runs blocking work (SQLite transactions and their fsyncs) off the concurrency pool.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
}
