/// Where and how the agent's local status page listens.
public struct LocalWebConfiguration: Sendable {
    /// The address to bind; loopback by default.
    public var host = "127.0.0.1"
    /// 8787 by default; 0 picks a free port (reported through `onListening`).
    public var port = 8787
    /// Required from every request when set: `Authorization: Bearer <password>`, or Basic with any user name.
    public var password: String?
    /// Request bodies above this get 413.
    public var maxBodyBytes = 16 << 10

    public init() {}

    /// Whether only this machine can reach the listener.
    public var isLoopback: Bool {
        Self.isLoopback(host: host)
    }

    /// `127.0.0.0/8`, `::1` and `localhost`.
    public static func isLoopback(host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
    }
}
