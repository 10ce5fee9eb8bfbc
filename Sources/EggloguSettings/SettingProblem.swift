/// Something wrong with one setting: a bad value, a missing key, an unreadable file.
public struct SettingProblem: Sendable, Equatable, CustomStringConvertible {
    /// What kind of part the problem stops.
    public enum Scope: Sendable, Equatable {
        /// The program cannot run with it.
        case fatal
        /// Only the MQTT broker link is affected: the agent polls instead.
        case broker
        /// Reported, but nothing stops (an unknown key, say).
        case warning
    }

    /// The setting's name, or nil for a line that is not a setting at all.
    public let key: String?
    public let message: String
    /// `file:line` when the value came from a config file, `environment` or `flag` otherwise.
    public let location: String?
    public let scope: Scope

    public init(key: String?, _ message: String, at location: String? = nil, scope: Scope = .fatal) {
        self.key = key
        self.message = message
        self.location = location
        self.scope = scope
    }

    public var description: String {
        let prefix = [location, key].compactMap { $0 }.joined(separator: ": ")
        return prefix.isEmpty ? message : "\(prefix): \(message)"
    }
}
