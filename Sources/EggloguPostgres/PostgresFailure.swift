import EggloguStore
import PostgresNIO

/// Turns PostgreSQL's failures into ``ReplicaError``s, so the server answers them as it answers
/// SQLite's: a database that cannot be reached is `cannotOpen` (503 with a retry hint).
enum PostgresFailure {
    static func mapped(_ error: any Error) -> any Error {
        if error is ReplicaError || error is CancellationError { return error }
        guard let error = error as? PSQLError else {
            return ReplicaError(.cannotOpen, "the database cannot be reached: \(error)")
        }
        if error.code == .server {
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = describe(error)
            switch state {
            case "40001", "40P01", "55P03": return ReplicaError(.busy, "the database is busy: \(message)")
            case "53100": return ReplicaError(.diskFull, "the database's disk is full: \(message)")
            case _ where state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53"):
                return ReplicaError(.cannotOpen, "the database cannot be reached: \(message)")
            case "28000", "28P01", "3D000":
                return ReplicaError(.cannotOpen, "the database refused us: \(message)")
            default: return ReplicaError(.io, "the database failed: \(message)")
            }
        }
        return ReplicaError(.cannotOpen, "the database cannot be reached: \(describe(error))")
    }

    /// A one-line account of `error`, with the server's message when there is one (never a bind value).
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo {
            return [info[.sqlState], info[.message]].compactMap { $0 }.joined(separator: " ")
        }
        return "\(error.code)"
    }
}
