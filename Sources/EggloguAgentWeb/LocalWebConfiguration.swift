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
    /// More names a request may give as its `Host` when there is no password (the name the
    /// operator types, such as `gateway.local`), besides the loopback names and the listen address.
    public var hostNames: [String] = []

    public init() {}

    /// Whether only this machine can reach the listener.
    public var isLoopback: Bool {
        Self.isLoopback(host: host)
    }

    /// `localhost`, `::1` and the IPv4 addresses 127.0.0.0/8, written as addresses.
    public static func isLoopback(host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) && Int($0)! <= 255 }
    }

    /// Whether a request's host name (from `Host`, without its port) may reach the page without a
    /// password: exactly `localhost`, `127.0.0.1`, `::1`, the listen address, or one of ``hostNames``.
    /// Anything else may be a DNS-rebinding page that resolved its own name to this machine.
    public func acceptsHostName(_ name: String) -> Bool {
        let bare = (name.hasPrefix("[") && name.hasSuffix("]") ? String(name.dropFirst().dropLast()) : name).lowercased()
        let listening = (host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host).lowercased()
        return ["localhost", "127.0.0.1", "::1", listening].contains(bare) || hostNames.contains { $0.lowercased() == bare }
    }
}

extension LocalWebConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    /// Never the password, wherever the configuration is printed (service-lifecycle logs its services).
    public var description: String {
        "LocalWebConfiguration(host: \(host), port: \(port), password: \(password == nil ? "none" : "<redacted>"), hostNames: \(hostNames))"
    }

    public var debugDescription: String { description }
}
