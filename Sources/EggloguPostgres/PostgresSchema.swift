import EggloguStore
import Logging
import PostgresNIO

/// The PostgreSQL schema. A migration never changes once it has shipped: add a new one.
///
/// Every farm shares the tables; `farm` holds one row per farm, whose lock orders the farm's
/// writes (docs/protocol.md, "Why a cursor never skips").
enum PostgresSchema {
    /// Every migration in order, each a list of statements (the extended protocol runs one at a time).
    static let migrations: [(identifier: String, statements: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE farm (
                    farm_id text PRIMARY KEY,
                    epoch text NOT NULL,
                    head bigint NOT NULL DEFAULT 0,
                    purged_through bigint NOT NULL DEFAULT 0,
                    last_purge bigint
                )
                """,
                """
                CREATE TABLE record (
                    farm_id text NOT NULL REFERENCES farm (farm_id),
                    collection text NOT NULL,
                    id text NOT NULL,
                    body text NOT NULL,
                    hash text NOT NULL,
                    updated_at bigint NOT NULL,
                    deleted_at bigint,
                    origin text NOT NULL,
                    vv text NOT NULL,
                    gen bigint NOT NULL,
                    seq bigint NOT NULL,
                    resolved boolean NOT NULL,
                    PRIMARY KEY (farm_id, collection, id)
                )
                """,
                "CREATE UNIQUE INDEX record_by_seq ON record (farm_id, seq)",
                """
                CREATE TABLE change_time (
                    farm_id text NOT NULL,
                    seq bigint NOT NULL,
                    at bigint NOT NULL,
                    PRIMARY KEY (farm_id, seq)
                )
                """,
                "CREATE INDEX change_time_by_at ON change_time (farm_id, at)",
                """
                CREATE TABLE device (
                    farm text NOT NULL,
                    device text NOT NULL,
                    last_seen double precision,
                    PRIMARY KEY (farm, device)
                )
                """,
                """
                CREATE TABLE farm_revocation (
                    farm text NOT NULL,
                    device text NOT NULL,
                    revoked_at double precision NOT NULL,
                    PRIMARY KEY (farm, device)
                )
                """,
            ]
        )
    ]

    /// Brings the database up to date: every pending migration in one transaction, under a lock
    /// every instance takes, so two instances starting together migrate once.
    ///
    /// - Throws: ``ReplicaError/Code/unreadable`` when the database holds migrations this build
    ///   does not know (a newer server wrote it); ``ReplicaError/Code/migrationFailed`` when one
    ///   fails, with the database as it was.
    static func migrate(
        _ connection: PostgresConnection,
        migrations: [(identifier: String, statements: [String])] = migrations,
        logger: Logger
    ) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(8211974001)", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS egglogu_schema (identifier text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger
            )
            var applied: Set<String> = []
            for try await identifier in try await connection.query("SELECT identifier FROM egglogu_schema", logger: logger).decode(String.self) {
                applied.insert(identifier)
            }
            let known = Set(migrations.map(\.identifier))
            if let unknown = applied.subtracting(known).sorted().first {
                throw ReplicaError(
                    .unreadable,
                    "the database holds schema \(unknown), which this server does not know: it was written by a newer one"
                )
            }
            for migration in migrations where !applied.contains(migration.identifier) {
                do {
                    for statement in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("INSERT INTO egglogu_schema (identifier) VALUES (\(migration.identifier))", logger: logger)
                } catch {
                    throw ReplicaError(
                        .migrationFailed,
                        "schema migration \(migration.identifier) failed, so the database was left unchanged: \(PostgresFailure.describe(error))"
                    )
                }
                logger.notice("schema migrated", metadata: ["migration": "\(migration.identifier)"])
            }
        }
    }
}
