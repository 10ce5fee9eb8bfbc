/// How an ``MQTTClient`` connects.
public struct MQTTConfiguration: Sendable {
    public enum ProtocolVersion: Sendable {
        case v311, v5
    }

    /// A retained or plain message the broker publishes when the client vanishes.
    public struct Will: Sendable {
        public var topic: String
        public var payload: [UInt8]
        public var retain: Bool

        public init(topic: String, payload: [UInt8], retain: Bool) {
            self.topic = topic
            self.payload = payload
            self.retain = retain
        }
    }

    /// TLS: a CA file, and optionally a client certificate and key.
    public struct TLS: Sendable {
        public var caFile: String
        public var certificateFile: String?
        public var keyFile: String?

        public init(caFile: String, certificateFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    public var host: String
    public var port: Int = 1883
    public var clientID: String
    public var username: String?
    public var password: String?
    public var tls: TLS?
    public var protocolVersion = ProtocolVersion.v311
    public var keepAliveSeconds: Int32 = 30
    public var will: Will?
    /// Topics subscribed (QoS 1) on every connect.
    public var subscriptions: [String] = []
    /// The first reconnect delay and its cap; each failure doubles it, with jitter.
    public var backoffFloorSeconds = 1.0
    public var backoffCapSeconds = 120.0

    public init(host: String, port: Int = 1883, clientID: String) {
        self.host = host
        self.port = port
        self.clientID = clientID
    }
}

/// What happens on the connection.
public enum MQTTEvent: Sendable, Equatable {
    /// The broker accepted the connection and acknowledged every subscription: a pull made now misses no notice.
    case connected
    /// The connection failed or dropped; a reconnect is scheduled after `retryIn` seconds.
    case disconnected(reason: String, retryIn: Double)
    /// A message arrived on a subscribed topic; `retained` when the broker kept it from before the
    /// subscription (it is not news).
    case message(topic: String, payload: [UInt8], retained: Bool = false)
}

extension MQTTConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    /// Never the password, wherever the configuration is printed.
    public var description: String {
        "MQTTConfiguration(host: \(host), port: \(port), clientID: \(clientID), username: \(username ?? "none"), "
            + "password: \(password == nil ? "none" : "<redacted>"), tls: \(tls == nil ? "off" : "on"))"
    }

    public var debugDescription: String { description }
}
