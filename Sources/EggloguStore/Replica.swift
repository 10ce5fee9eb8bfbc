import CEggloguSQLite
import EggloguCore
import EggloguJSON
import Foundation
import GRDB
import Synchronization

/// A farm's records in one SQLite file: the store behind the agent's replica and the server.
///
/// Every write (an import, a local edit, a merge of remote records) is one
/// SQLite transaction in WAL mode, so killing the process at any instant
/// leaves either all of a write or none of it. Writes are synced before they
/// return (`synchronous=FULL`), except a device's pages from its server (see
/// ``CommitDurability``). Each
/// change takes the next value of the replica's change sequence, which makes
/// "what changed since X" and "what is still unpushed" index lookups.
public final class Replica: Sendable {
    /// The replica file.
    public let path: String
    /// The device that stamps this replica's local writes.
    public let deviceID: String
    /// The farm, when configured.
    public let farmID: String?
    /// Identifies this database among its backups: a restored copy has another epoch.
    public let epoch: String
    public let configuration: ReplicaConfiguration
    /// Set when the replica was opened read-only because its disk is full; writes then fail.
    public let snapshot: ReplicaSnapshot?
    /// Set when ``openForReading(path:configuration:)`` opened read-only connections: writes fail.
    let readOnly: Bool
    let pool: DatabasePool
    private let closed = Mutex(false)

    init(
        path: String,
        deviceID: String,
        farmID: String?,
        epoch: String,
        configuration: ReplicaConfiguration,
        pool: DatabasePool,
        snapshot: ReplicaSnapshot? = nil,
        readOnly: Bool = false
    ) {
        self.path = path
        self.deviceID = deviceID
        self.farmID = farmID
        self.epoch = epoch
        self.configuration = configuration
        self.pool = pool
        self.snapshot = snapshot
        self.readOnly = readOnly || snapshot != nil
    }

    /// Opens (and, if allowed, creates) the replica at `path`, migrating its schema, on a thread
    /// of its own: opening reads and may write the file.
    public static func open(path: String, configuration: ReplicaConfiguration = ReplicaConfiguration()) async throws -> Replica {
        try await StoreThread.run { try openNow(path: path, configuration: configuration) }
    }

    /// Closes the database on a background thread of its own and returns at once, so a store
    /// thread that requests wait for never spends its time closing. Any later use of this replica
    /// throws; call it only when nothing else holds the replica.
    ///
    /// The readers close first, so the writer closes last and (with
    /// ``ReplicaConfiguration/checkpointOnClose``) checkpoints and removes the WAL: a read-only
    /// connection closing last cannot.
    public func closeInBackground() {
        Replica.closer.async { [self] in try? closeNow() }
    }

    private static let closer = DispatchQueue(label: "egglogu-store-closer", qos: .utility)

    /// Without ``ReplicaConfiguration/checkpointOnClose``, a WAL above this size is checkpointed
    /// (and truncated) before closing, so a farm's WAL stays small on disk and quick to read back.
    static let walKeptOnClose: Int64 = 64 << 10

    /// A replica nobody holds closes the same way, readers first: left to the pool, the writer
    /// sometimes closed before a read-only reader, which then could not checkpoint, and a command
    /// that had just exited left its `-wal` and `-shm` behind (and opened normally on a full disk).
    deinit {
        try? closeNow()
    }

    private func closeNow() throws {
        let first = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        if !readOnly, !configuration.checkpointOnClose,
            let size = DiskSpace.fileSize(path + "-wal"),
            size > Replica.walKeptOnClose
        {
            try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        }
        pool.releaseMemory()
        try pool.close()
    }

    static func openNow(path: String, configuration: ReplicaConfiguration) throws -> Replica {
        if !FileManager.default.fileExists(atPath: path) && !configuration.createIfMissing {
            throw ReplicaError(.noReplica, "no replica at \(path)")
        }
        var config = Configuration()
        config.busyMode = .timeout(configuration.busyTimeoutSeconds)
        let checkpointOnClose = configuration.checkpointOnClose
        config.prepareDatabase { db in
            if !checkpointOnClose, let connection = db.sqliteConnection {
                let code = c_egglogu_sqlite_skip_checkpoint_on_close(connection)
                guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code)) }
            }
        }
        // Another process opening or creating the file at the same moment (a status command while
        // the service starts) can hold the lock that switching to WAL or migrating needs, and
        // SQLite answers that at once, without its busy timeout: try again for about two seconds.
        let deadline = ContinuousClock.now + .seconds(2)
        while true {
            do {
                return try openOnce(path: path, configuration: configuration, config)
            } catch let error as DatabaseError
                where [.SQLITE_BUSY, .SQLITE_LOCKED].contains(error.resultCode) && ContinuousClock.now < deadline
            {
                usleep(UInt32.random(in: 20_000...80_000))
            } catch let error as ReplicaError {
                throw error
            } catch {
                throw ReplicaError(mapping: error, path: path)
            }
        }
    }

    private static func openOnce(path: String, configuration: ReplicaConfiguration, _ config: Configuration) throws -> Replica {
        let pool = try DatabasePool(path: path, configuration: config)
        // GRDB's WAL set-up runs after `prepareDatabase` and leaves the writer at NORMAL.
        try pool.writeWithoutTransaction { try $0.execute(sql: CommitDurability.synced.pragma) }
        try Schema.upgrade.migrate(pool, path: path)
        let identity = try pool.write { db in
            try Replica.settleIdentity(db, configuration: configuration, path: path)
        }
        return Replica(path: path, identity: identity, configuration: configuration, pool: pool)
    }

    private static func settleIdentity(
        _ db: Database,
        configuration: ReplicaConfiguration,
        path: String
    ) throws -> Identity {
        let device: String
        if let stored = try Meta.get(db, .deviceID) {
            if let wanted = configuration.deviceID, wanted != stored {
                throw ReplicaError(.deviceMismatch, "\(path) belongs to device \(stored), not \(wanted)")
            }
            device = stored
        } else {
            device = configuration.deviceID ?? "dev-" + RecordID.generate(now: configuration.wallClock())
            guard !device.isEmpty, device.utf8.count <= 256 else {
                throw ReplicaError(.badData, "a device id must be 1 to 256 bytes")
            }
            try Meta.set(db, .deviceID, device)
            try Meta.set(db, .createdAt, configuration.wallClock().iso8601)
        }
        var farm = try Meta.get(db, .farmID)
        if let wanted = configuration.farmID {
            if let farm, farm != wanted {
                throw ReplicaError(.deviceMismatch, "\(path) holds farm \(farm), not \(wanted)")
            }
            if farm == nil {
                try Meta.set(db, .farmID, wanted)
                farm = wanted
            }
        }
        let epoch: String
        if let stored = try Meta.get(db, .epoch) {
            epoch = stored
        } else {
            epoch = Replica.newEpoch()
            try Meta.set(db, .epoch, epoch)
        }
        return Identity(device: device, farm: farm, epoch: epoch)
    }

    /// A random epoch: 16 lowercase hex digits.
    static func newEpoch() -> String {
        var rng = SystemRandomNumberGenerator()
        return String(rng.next() as UInt64, radix: 16).leftPadded(16)
    }

    /// Runs `body` as one write transaction with a fresh transaction context, on a store thread
    /// (never on the cooperative pool; see ``StoreThread``).
    ///
    /// When the hybrid logical clock asks for a moment before it can stamp, `body` stops, the
    /// transaction rolls back, and it runs again once the moment has passed: nothing waits while
    /// the database is locked.
    func write<T: Sendable>(
        _ durability: CommitDurability = .synced,
        _ body: @escaping @Sendable (inout ReplicaTransaction) throws -> T
    ) async throws -> T {
        if snapshot != nil { throw ReplicaError.diskFull(path) }
        if readOnly { throw ReplicaError(.cannotOpen, "\(path) was opened for reading only") }
        let durability = configuration.role == .device ? durability : .synced
        var waited: Int64 = 0
        while true {
            do {
                return try await StoreThread.run { [pool, waited] in
                    try pool.writeWithoutTransaction { db in
                        // Set before every write, outside its transaction (SQLite refuses to change
                        // it inside one), so each write commits at its own level.
                        try db.execute(sql: durability.pragma)
                        var result: T?
                        try db.inTransaction {
                            var transaction = try ReplicaTransaction(db: db, replica: self, clockWaited: waited)
                            result = try body(&transaction)
                            try transaction.finish()
                            return .commit
                        }
                        return result!
                    }
                }
            } catch let wait as ClockWait {
                try await Task.sleep(for: .milliseconds(wait.milliseconds))
                waited += wait.milliseconds
            } catch let error as ReplicaError {
                throw error
            } catch {
                throw ReplicaError(mapping: error, path: path)
            }
        }
    }

    /// Runs `body` in a read transaction (a consistent snapshot) on a store thread.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await StoreThread.run { [pool] in try pool.read(body) }
        } catch let error as ReplicaError {
            throw error
        } catch {
            throw ReplicaError(mapping: error, path: path)
        }
    }
}

extension ReplicaError {
    /// Classifies a failure of the SQLite file at `path`: busy, permissions, damage, a full disk
    /// (SQLite's `SQLITE_FULL`, or an I/O error on a disk with no room left), or other I/O.
    public init(mapping error: any Error, path: String) {
        guard let db = error as? DatabaseError else {
            self.init(.io, "\(path): \(error)")
            return
        }
        if db.resultCode == .SQLITE_FULL || (db.resultCode == .SQLITE_IOERR && DiskSpace.isFull(near: path)) {
            self = ReplicaError.diskFull(path)
            return
        }
        switch db.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            self.init(.busy, "\(path) is locked by another process; try again")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY:
            self.init(.cannotOpen, "cannot open \(path): \(db.message ?? "permission denied or missing directory")")
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            self.init(.unreadable, "\(path) is not an egglogu replica or is damaged (\(db.message ?? "unreadable"))")
        default:
            self.init(.io, "\(path): \(db.message ?? "\(db.resultCode)")")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
