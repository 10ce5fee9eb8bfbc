import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster on a loopback port (Debian's `postgresql`), one per test process,
/// with a fresh database for each test that asks. It stops when the test process ends, however
/// that happens: a watcher shell stops it once the process is gone.
public final class PostgresServer: Sendable {
    public let port: Int
    let directory: TemporaryDirectory
    private let binaries: String

    private static let instance = Mutex<Result<PostgresServer, PostgresServerError>?>(nil)

    /// The process's cluster, started on first use.
    public static func shared() throws -> PostgresServer {
        try instance.withLock { instance in
            if let instance { return try instance.get() }
            let started = Result { () throws(PostgresServerError) in try PostgresServer() }
            instance = started
            return try started.get()
        }
    }

    /// The newest `bin` directory of Debian's PostgreSQL packages.
    static func binaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap { Int($0) }.sorted().last.map { "\(root)/\($0)/bin" }
    }

    private init() throws(PostgresServerError) {
        guard let binaries = Self.binaries(), FileManager.default.isExecutableFile(atPath: binaries + "/postgres") else {
            throw PostgresServerError("PostgreSQL is not installed: deploy/install-deps.sh --tests")
        }
        self.binaries = binaries
        directory = TemporaryDirectory()
        port = Broker.freePort()
        let data = directory.file("data")
        // postgres refuses to run as root: as root, the cluster belongs to the postgres user.
        let asRoot = getuid() == 0
        if asRoot { _ = try? Subprocess.runTool("/bin/chown", ["-R", "postgres:postgres", directory.path]) }
        let prefix = asRoot ? "/usr/sbin/runuser -u postgres -- " : ""
        let setup = try? Subprocess.runTool(
            "/bin/sh",
            ["-c", "\(prefix)\(binaries)/initdb -D \(data) -A trust -U postgres --no-sync -E UTF8 >\(directory.file("initdb.log")) 2>&1"]
        )
        guard setup?.status == 0 else {
            throw PostgresServerError("initdb failed: \((try? String(contentsOfFile: directory.file("initdb.log"), encoding: .utf8)) ?? "")")
        }
        let options = [
            "-D \(data)", "-p \(port)", "-k \(directory.path)", "-c listen_addresses=127.0.0.1", "-c fsync=on",
            "-c max_connections=300", "-c shared_buffers=64MB",
        ].joined(separator: " ")
        let watcher = """
            \(prefix)\(binaries)/postgres \(options) >\(directory.file("postgres.log")) 2>&1 &
            child=$!
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done
            # The postmaster itself: as root, $child is runuser, which does not pass SIGINT on.
            postmaster=$(head -n 1 \(data)/postmaster.pid 2>/dev/null)
            [ -n "$postmaster" ] && kill -INT "$postmaster" 2>/dev/null
            kill -INT $child 2>/dev/null
            for _ in $(seq 1 30); do kill -0 "${postmaster:-$child}" 2>/dev/null || break; sleep 1; done
            rm -rf \(directory.path)
            """
        // A session of its own, and none of our output: a test runner that waits for the end of its
        // child's output must not wait for the cluster (which outlives the test process by a second).
        do { _ = try ChildProcess("/usr/bin/setsid", ["/bin/sh", "-c", watcher]) } catch {
            throw PostgresServerError("cannot start postgres: \(error)")
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? Subprocess.runTool("\(binaries)/pg_isready", ["-h", "127.0.0.1", "-p", "\(port)", "-q"]))?.status == 0 { return }
            usleep(100_000)
        }
        throw PostgresServerError("postgres did not start: \((try? String(contentsOfFile: directory.file("postgres.log"), encoding: .utf8)) ?? "")")
    }

    /// Creates an empty database and returns its URL.
    public func createDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try psql("CREATE DATABASE \(name)")
        return url(name)
    }

    /// The URL of database `name`.
    public func url(_ name: String) -> String { "postgres://postgres@127.0.0.1:\(port)/\(name)?sslmode=disable" }

    /// Runs `sql` through psql and returns its unaligned output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let output = try Subprocess.runTool(
            "\(binaries)/psql",
            ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql],
            // A statement stuck behind a lock fails the test instead of holding the suite.
            environment: ["PGCONNECT_TIMEOUT": "10", "PGOPTIONS": "-c statement_timeout=60s -c lock_timeout=60s"]
        )
        guard output.status == 0 else { throw PostgresServerError("psql failed: \(output.stderr)") }
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The database name of a URL made by ``createDatabase()``.
    public static func databaseName(_ url: String) -> String {
        String(url.split(separator: "/").last!.split(separator: "?").first!)
    }
}

public struct PostgresServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
