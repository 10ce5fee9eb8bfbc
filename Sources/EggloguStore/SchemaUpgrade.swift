import Foundation
import GRDB

/// Runs a database's pending migrations all or nothing.
///
/// GRDB commits each migration on its own, so a failing second migration would leave the first
/// applied: a database half upgraded, which neither this version nor the last can trust. Pending
/// migrations therefore run first on a copy beside the file; only when the copy upgrades cleanly do
/// they run on the database itself. A new, empty database is migrated directly.
enum SchemaUpgrade {
    static func migrate(_ migrator: DatabaseMigrator, _ pool: DatabasePool, path: String) throws {
        let (applied, complete) = try pool.writeWithoutTransaction { db in
            (try migrator.appliedIdentifiers(db), try migrator.hasCompletedMigrations(db))
        }
        guard !complete else { return }
        if !applied.isEmpty {
            // A name of its own: another process may be checking the same upgrade right now.
            let trial = path + ".upgrade-check-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            defer {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: trial + suffix) }
            }
            do {
                let copy = try DatabaseQueue(path: trial)
                try pool.backup(to: copy)
                try migrator.migrate(copy)
                try copy.close()
            } catch {
                throw failure(error, path: path)
            }
        }
        do {
            try migrator.migrate(pool)
        } catch {
            throw failure(error, path: path)
        }
    }

    /// A failed migration as ``ReplicaError/Code/migrationFailed``; a lock, a full disk or an I/O
    /// error passes on as it came, for the caller to retry or classify.
    private static func failure(_ error: any Error, path: String) -> any Error {
        if let database = error as? DatabaseError, [.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR].contains(database.resultCode) {
            return database
        }
        if error is ReplicaError { return error }
        let detail = (error as? DatabaseError)?.message ?? "\(error)"
        return ReplicaError(.migrationFailed, "cannot upgrade the schema of \(path): \(detail); the database is unchanged")
    }
}
