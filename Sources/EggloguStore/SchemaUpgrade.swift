import Foundation
import GRDB

/// A database's migrations, run all or nothing.
///
/// GRDB's migrator commits each migration on its own, so a failing second migration would leave
/// the first applied: a database half upgraded, which neither this version nor the last can trust.
/// Here every pending migration runs in one `IMMEDIATE` transaction, which also makes processes that
/// open the same new file at once take turns: the second finds the work done. Applied migrations are
/// recorded in `grdb_migrations`, the table GRDB's migrator kept, so databases of before read the
/// same. A migration never changes once it has shipped: add a new one.
struct SchemaUpgrade {
    /// Every migration, in order.
    let migrations: [(identifier: String, sql: String)]

    /// Whether the database holds a migration this version does not know: a newer version wrote it.
    func isSuperseded(_ db: Database) throws -> Bool {
        let known = Set(migrations.map(\.identifier))
        return try !applied(db).isSubset(of: known)
    }

    /// Whether every migration is applied.
    func isComplete(_ db: Database) throws -> Bool {
        try Set(migrations.map(\.identifier)).isSubset(of: applied(db))
    }

    /// Refuses a database a newer version wrote, and applies what is pending, all or nothing. The
    /// checks run on the writer connection, which the pool opens anyway: a read would open a reader
    /// connection too, which a server reopening farms pays for again and again.
    ///
    /// - Throws: ``ReplicaError/Code/unreadable`` for a newer database;
    ///   ``ReplicaError/Code/migrationFailed`` (the database unchanged) when a migration fails; a
    ///   lock, a full disk or an I/O error as SQLite's `DatabaseError`.
    func migrate(_ pool: DatabasePool, path: String) throws {
        let (superseded, complete) = try pool.writeWithoutTransaction { db in (try isSuperseded(db), try isComplete(db)) }
        if superseded { throw ReplicaError(.unreadable, "\(path) was written by a newer egglogu-sync; upgrade to open it") }
        if complete { return }
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                let done = try applied(db)
                for migration in migrations where !done.contains(migration.identifier) {
                    do {
                        try db.execute(sql: migration.sql)
                    } catch let error as DatabaseError where ![.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR].contains(error.resultCode) {
                        throw ReplicaError(
                            .migrationFailed,
                            "cannot upgrade the schema of \(path) (migration \(migration.identifier)): \(error.message ?? "\(error)"); the database is unchanged"
                        )
                    }
                    try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [migration.identifier])
                }
                return .commit
            }
        }
    }

    private func applied(_ db: Database) throws -> Set<String> {
        guard try db.tableExists("grdb_migrations") else { return [] }
        return Set(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
    }
}
