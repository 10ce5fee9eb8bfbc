import Foundation
import PostgresNIO

/// A `postgres://` URL, checked at start-up so a wrong one is named before anything runs.
///
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]`, or
/// `postgres://USER@/DATABASE?host=/run/postgresql` for a Unix socket directory.
/// `postgresql://` is accepted too. The password never appears in ``description``.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public let user: String
    let password: String?
    public let host: String?
    public let port: Int
    /// The directory of the server's Unix socket, when it is reached that way.
    public let socketDirectory: String?
    public let database: String
    public let sslMode: SSLMode

    /// How TLS is used.
    public enum SSLMode: String, Sendable {
        case disable, prefer, require
    }

    /// Parses `text`.
    ///
    /// - Throws: ``PostgresURLError``, naming what is wrong.
    public init(_ text: String) throws(PostgresURLError) {
        guard let components = URLComponents(string: text) else { throw PostgresURLError("is not a URL") }
        guard let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme.lowercased()) else {
            throw PostgresURLError("must start with postgres:// or postgresql://")
        }
        var user = components.user.flatMap { $0.removingPercentEncoding } ?? ""
        password = components.password.flatMap { $0.removingPercentEncoding }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let known: Set<String> = ["sslmode", "host", "user"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw PostgresURLError("has an unknown parameter \(unknown) (known: host, sslmode, user)")
        }
        if let named = query["user"], !named.isEmpty { user = named }
        guard !user.isEmpty else { throw PostgresURLError("names no user (postgres://USER@HOST/DATABASE)") }
        self.user = user
        let hostText = components.host.flatMap { $0.removingPercentEncoding } ?? ""
        if let directory = query["host"], directory.hasPrefix("/") {
            guard hostText.isEmpty else { throw PostgresURLError("names both a host and a socket directory") }
            socketDirectory = directory
            host = nil
        } else {
            guard !hostText.isEmpty else { throw PostgresURLError("names no host (postgres://USER@HOST/DATABASE)") }
            socketDirectory = nil
            host = hostText
        }
        port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw PostgresURLError("has port \(port), outside 1 to 65535") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.isEmpty, !path.contains("/") else { throw PostgresURLError("names no database (postgres://USER@HOST/DATABASE)") }
        database = path.removingPercentEncoding ?? path
        let mode = query["sslmode"] ?? "prefer"
        guard let sslMode = SSLMode(rawValue: mode) else {
            throw PostgresURLError("has sslmode=\(mode); use disable, prefer or require")
        }
        self.sslMode = sslMode
    }

    private init(copying url: PostgresURL, password: String?) {
        user = url.user
        self.password = password
        host = url.host
        port = url.port
        socketDirectory = url.socketDirectory
        database = url.database
        sslMode = url.sslMode
    }

    /// This URL with `password` (read from a file, so it need not sit in the URL).
    public func with(password: String) -> PostgresURL {
        PostgresURL(copying: self, password: password)
    }

    /// The URL without its password.
    public var description: String {
        let secret = password == nil ? "" : ":***"
        let place = socketDirectory.map { "/\(database)?host=\($0)" } ?? "\(host ?? ""):\(port)/\(database)"
        return "postgres://\(user)\(secret)@\(place)"
    }

    /// The client configuration for this URL.
    public var clientConfiguration: PostgresClient.Configuration {
        if let socketDirectory {
            return PostgresClient.Configuration(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)",
                username: user,
                password: password,
                database: database
            )
        }
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        return PostgresClient.Configuration(host: host ?? "localhost", port: port, username: user, password: password, database: database, tls: tls)
    }
}

/// A `postgres://` URL that cannot be used, and why.
public struct PostgresURLError: Error, Sendable, CustomStringConvertible {
    public let reason: String

    init(_ reason: String) { self.reason = reason }

    public var description: String { "the database URL \(reason)" }
}
