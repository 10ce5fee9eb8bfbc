import EggloguCore
import EggloguHTTP
import EggloguStore
import GRDB
import HTTPTypes
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

    /// The replica of `farm`, created empty if the farm is new (opened off the concurrency pool).
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
        let replica = try await blocking { [configuration] in try Replica.open(path: path, configuration: configuration) }
        return open.withLock { stores in
            if let existing = stores[farm] { return existing }
            stores[farm] = replica
            return replica
        }
    }
}

/// Runs blocking work (SQLite transactions and their fsyncs) off the concurrency pool. Storage
/// failures become answers a client can act on: 507 on a full disk, 503 while the store is busy.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    do {
        return try await NIOThreadPool.singleton.runIfActive(body)
    } catch let error as ReplicaError {
        throw APIError(storage: error) ?? error
    } catch let error as DatabaseError {
        let mapped = ReplicaError(mapping: error, path: "the server database")
        throw APIError(storage: mapped) ?? mapped
    }
}

extension APIError {
    /// The answer to a storage failure, or nil for failures that are about the request's data.
    init?(storage error: ReplicaError) {
        switch error.code {
        case .diskFull:
            self.init(
                HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), "disk-full",
                "the server's disk is full: nothing was stored; retry later", headers: [.retryAfter: "60"])
        case .busy:
            self.init(.serviceUnavailable, "busy", "the farm's store is busy: retry", headers: [.retryAfter: "1"])
        case .io, .unreadable, .cannotOpen:
            self.init(.internalServerError, "storage-failed", "the server could not read or write its store")
        default:
            return nil
        }
    }
}
