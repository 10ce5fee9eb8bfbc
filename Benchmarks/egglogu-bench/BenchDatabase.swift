import EggloguTestSupport

/// Where a benchmarked server keeps its farms.
enum BenchDatabase {
    case sqlite
    /// A PostgreSQL database URL, or nil for a new database of a private cluster per run.
    case postgres(String?)

    /// `--database private` starts a cluster of the benchmark's own (Debian's postgresql).
    static func named(_ text: String) -> BenchDatabase {
        text == "private" ? .postgres(nil) : .postgres(text)
    }

    var name: String {
        switch self {
        case .sqlite: "sqlite"
        case .postgres: "postgres"
        }
    }

    /// This store with a database of its own for one measurement (a private cluster's is new).
    func fresh() throws -> BenchDatabase {
        guard case .postgres(nil) = self else { return self }
        return .postgres(try PostgresServer.shared().createDatabase())
    }

    /// The server's flags for this store.
    var arguments: [String] {
        switch self {
        case .sqlite, .postgres(nil): []
        case .postgres(let url?): ["--database", url]
        }
    }
}
