import EggloguTestSupport
import EggloguTestTraits
import Foundation
import GRDB
import Testing

/// A schema upgrade that fails stops the program with a clear message (exit 78) and leaves the
/// database as it was, every migration included: none is half applied.
@Suite(.ownThreads) struct FailedMigrationTests {
    let dir = TemporaryDirectory()

    /// The tables, their SQL, and the applied migrations: what "unchanged" compares.
    func schema(_ path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            try String.fetchAll(db, sql: "SELECT name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY name")
                + String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        }
    }

    /// A registry from before its v2, with a table in the way of v2's `CREATE TABLE`.
    func registryThatCannotUpgrade() throws -> String {
        let data = dir.file("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let path = data + "/server.sqlite"
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations VALUES ('v1');
                    CREATE TABLE device (farm TEXT NOT NULL, device TEXT NOT NULL, PRIMARY KEY (farm, device)) WITHOUT ROWID;
                    CREATE TABLE revocation (device TEXT PRIMARY KEY NOT NULL, revoked_at REAL NOT NULL);
                    INSERT INTO revocation VALUES ('gw-old', 1.0);
                    CREATE VIEW farm_revocation AS SELECT 1;
                    """
            )
        }
        try queue.close()
        return path
    }

    @Test func theServerStopsWithExit78AndTheRegistryIsUnchanged() throws {
        let registry = try registryThatCannotUpgrade()
        let before = try schema(registry)
        let run = try Subprocess.run("egglogu-sync-server", ["serve", "--data-dir", dir.file("data"), "--port", "0"], in: dir)
        #expect(run.status == 78, "\(run.stderr)")
        #expect(run.stderr.contains("cannot upgrade the schema of \(registry)"), "\(run.stderr)")
        #expect(run.stderr.contains("the database is unchanged"))
        #expect(try schema(registry) == before, "v2's first step did not stay applied")
    }

    @Test func anAgentCommandStopsWithExit78AndTheReplicaIsUnchanged() throws {
        let replica = dir.file("replica.sqlite")
        #expect(try Subprocess.run("egglogu-agent", ["put", "--replica", replica, "flocks", #"{"id":"f1"}"#], in: dir).status == 0)
        // Pretend the last two migrations are not applied yet, with an object in the way of what the
        // second creates: the first would succeed on its own, and must not stay applied.
        let queue = try DatabaseQueue(path: replica)
        try queue.write { db in
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier IN ('v3', 'v4')")
            try db.execute(sql: "DROP INDEX record_deleted")
            try db.execute(sql: "DROP TABLE legacy_answer")
            try db.execute(sql: "DROP TABLE field_history")
            try db.execute(sql: "CREATE VIEW field_history AS SELECT 1")
        }
        try queue.close()
        let before = try schema(replica)
        let run = try Subprocess.run("egglogu-agent", ["get", "--replica", replica, "flocks"], in: dir)
        #expect(run.status == 78, "\(run.stderr)")
        #expect(run.stderr.contains("cannot upgrade the schema"), "\(run.stderr)")
        #expect(try schema(replica) == before)
    }

    /// A database that a newer version migrated further is refused, not opened and not changed.
    @Test func aDatabaseFromANewerVersionIsRefusedAndUnchanged() throws {
        let replica = dir.file("replica.sqlite")
        #expect(try Subprocess.run("egglogu-agent", ["put", "--replica", replica, "flocks", #"{"id":"f1"}"#], in: dir).status == 0)
        let queue = try DatabaseQueue(path: replica)
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v99')") }
        try queue.close()
        let before = try schema(replica)
        let run = try Subprocess.run("egglogu-agent", ["get", "--replica", replica, "flocks"], in: dir)
        #expect(run.status == 66, "\(run.stderr)")
        #expect(run.stderr.contains("was written by a newer egglogu-sync"), "\(run.stderr)")
        #expect(try schema(replica) == before)

        let data = dir.file("data")
        #expect(try Subprocess.run("egglogu-sync-server", ["token", "--data-dir", data, "--farm", "f", "--device", "d"], in: dir).status == 0)
        let registry = try DatabaseQueue(path: data + "/server.sqlite")
        try registry.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v99')") }
        try registry.close()
        let serve = try Subprocess.run("egglogu-sync-server", ["serve", "--data-dir", data, "--port", "0"], in: dir)
        #expect(serve.status != 0 && serve.stderr.contains("was written by a newer egglogu-sync"), "\(serve.status) \(serve.stderr)")
    }
}
