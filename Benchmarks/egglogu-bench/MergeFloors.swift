import EggloguCore
import EggloguJSON
import EggloguStore
import Foundation
import GRDB

/// What the merge's durable work costs without egglogu-sync, on the same pages in the same run: the
/// floors its figure is printed beside.
///
/// Both floors write into a new replica's own `record` table and indexes, WAL with
/// `synchronous=FULL`, one transaction per page in which each record is looked up and then written.
enum MergeFloors {
    /// A new replica's file at `path`, released: the floors write into its own `record` table.
    private static func emptyReplica(at path: String) async throws {
        _ = try await Replica.open(path: path)
    }

    /// GRDB alone: every row's values worked out before the clock starts (no JSON work), two
    /// prepared statements (look up, `INSERT OR REPLACE`).
    ///
    /// - Returns: nanoseconds spent writing the pages.
    static func grdb(pages: [[UInt8]], collection: String, path: String) async throws -> UInt64 {
        try await emptyReplica(at: path)
        return try upsertWithGRDB(pages: pages, collection: collection, path: path)
    }

    private static func upsertWithGRDB(pages: [[UInt8]], collection: String, path: String) throws -> UInt64 {
        let config = Configuration()
        let pool = try DatabasePool(path: path, configuration: config)
        // After GRDB's WAL set-up, which leaves the writer at NORMAL.
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        var seq: Int64 = 0
        let rows: [[(id: String, arguments: StatementArguments)]] = try pages.map { bytes in
            guard case .array(let values) = try JSONParser().parse(bytes) else { throw BenchError("bad page") }
            return try values.map { value in
                let version = try RecordVersion(record: value)
                seq += 1
                let arguments: StatementArguments = [
                    collection, version.id, String(decoding: version.recordText, as: UTF8.self), version.info.contentHash,
                    version.info.updatedAt.milliseconds, version.info.deletedAt?.milliseconds, version.info.origin,
                    "{}", version.info.generation, seq, false,
                ]
                return (version.id, arguments)
            }
        }
        let start = DispatchTime.now()
        for page in rows {
            try pool.write { db in
                let lookup = try db.cachedStatement(sql: "SELECT updated_at, hash FROM record WHERE collection = ? AND id = ?")
                let upsert = try db.cachedStatement(
                    sql: """
                        INSERT OR REPLACE INTO record (collection, id, body, hash, updated_at, deleted_at, origin, vv, gen, seq, dirty)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                )
                for (id, arguments) in page {
                    _ = try Row.fetchOne(lookup, arguments: [collection, id])
                    try upsert.execute(arguments: arguments)
                }
            }
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds
        try pool.close()
        return elapsed
    }

    /// A naive Python `sqlite3` pipeline: parse each page's JSON, look each record up, keep the
    /// newer `_updatedAt`, `INSERT OR REPLACE` it.
    ///
    /// - Returns: nanoseconds spent on the pages as the script measures them, or nil without python3.
    static func python(pages: [[UInt8]], collection: String, work: String) async throws -> UInt64? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { return nil }
        try await emptyReplica(at: work + "/python-floor.sqlite")
        let script = work + "/naive-merge.py"
        let input = work + "/pages.jsonl"
        try pythonSource.write(toFile: script, atomically: true, encoding: .utf8)
        var lines = Data()
        for page in pages {
            lines.append(contentsOf: page)
            lines.append(0x0A)
        }
        try lines.write(to: URL(fileURLWithPath: input))
        let seconds = try output(of: "/usr/bin/python3", [script, work + "/python-floor.sqlite", input, collection])
        guard let value = Double(seconds.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw BenchError("the Python floor printed \(seconds)")
        }
        return UInt64(value * 1e9)
    }

    private static let pythonSource = """
        import json, sqlite3, sys, time
        db = sqlite3.connect(sys.argv[1], isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        collection = sys.argv[3]
        pages = open(sys.argv[2], "rb").read().splitlines()
        start = time.perf_counter()
        seq = 0
        for raw in pages:
            records = json.loads(raw)
            db.execute("BEGIN")
            for record in records:
                seq += 1
                stored = db.execute(
                    "SELECT body FROM record WHERE collection = ? AND id = ?", (collection, record["id"])
                ).fetchone()
                if stored is not None and json.loads(stored[0])["_updatedAt"] >= record["_updatedAt"]:
                    continue
                db.execute(
                    "INSERT OR REPLACE INTO record (collection, id, body, hash, updated_at, deleted_at, origin, vv, gen, seq, dirty)"
                    " VALUES (?, ?, ?, '', 0, NULL, ?, '{}', 0, ?, 0)",
                    (collection, record["id"], json.dumps(record, separators=(",", ":")), record.get("_syncOrigin", ""), seq),
                )
            db.execute("COMMIT")
        print(time.perf_counter() - start)
        """
}
