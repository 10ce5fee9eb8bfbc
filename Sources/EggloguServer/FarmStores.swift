import EggloguHTTP
import EggloguStore
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
    func replica(_ farm: String) async throws -> Replica {
        guard DataDirectory.isValidFarmID(farm) else {
            throw APIError(.badRequest, "bad-farm", "a farm id is 1 to 64 letters, digits, '.', '_' or '-'")
        }
        if let replica = open.withLock({ $0[farm] }) { return replica }
        var configuration = ReplicaConfiguration()
        configuration.deviceID = "server"
        configuration.farmID = farm
        configuration.role = .server
        configuration.maxClockSkewMilliseconds = maxClockSkewMilliseconds
        let path = directory.farmReplica(farm)
        let replica = try await Replica.open(path: path, configuration: configuration)
        return open.withLock { stores in
            if let existing = stores[farm] { return existing }
            stores[farm] = replica
            return replica
        }
    }
}
