/// The gateway broker's bridge to the central broker, as a file for its `bridge.d/`.
public struct BridgeConfig: Sendable {
    public var farm: String
    public var centralHost: String
    public var centralPort: Int
    public var password: String
    /// Where the gateway broker finds the CA of the central broker's certificate.
    public var caFile = "/etc/mosquitto/egglogu/tls/central-ca.pem"

    public init(farm: String, centralHost: String, centralPort: Int, password: String) {
        self.farm = farm
        self.centralHost = centralHost
        self.centralPort = centralPort
        self.password = password
    }

    /// The file's name in `bridge.d/`.
    public var fileName: String { "egglogu-\(farm).conf" }

    /// The mosquitto 2.0 `connection` section: `egglogu/<farm>/#` both ways at QoS 1, over TLS.
    public var text: String {
        """
        # EGGlogU bridge of farm \(farm) to the central broker \(centralHost):\(centralPort).
        # Written by egglogu-sync-server provision; install as
        # /etc/mosquitto/egglogu/bridge.d/\(fileName), mode 0640 root:mosquitto (it holds a password).
        connection egglogu-\(farm)
        address \(centralHost):\(centralPort)
        remote_username \(BrokerACL.bridgeUsername(farm: farm))
        remote_password \(password)
        # The central broker replaces it with the username (use_username_as_clientid), which only
        # this bridge holds; fixed, so the central broker keeps this bridge's session across reconnects.
        remote_clientid \(BrokerACL.bridgeUsername(farm: farm))
        # TLS: the central certificate must chain to this CA and name the address above.
        bridge_cafile \(caFile)
        bridge_insecure false
        # Tells the central mosquitto this is a bridge, so `both` below never loops a message back.
        try_private true
        # The default notifications would publish under $SYS on the central broker, which the
        # bridge's ACL denies; presence comes from the agents anyway.
        notifications false
        # Keep the central session: QoS 1 messages sent while the link was down arrive when it is back.
        cleansession false
        keepalive_interval 30
        restart_timeout 2 60
        topic egglogu/\(farm)/changes in 1
        topic egglogu/\(farm)/sync both 1
        topic egglogu/\(farm)/devices/# both 1
        topic egglogu/\(farm)/sensors/# both 1

        """
    }
}

extension BridgeConfig: CustomStringConvertible, CustomDebugStringConvertible {
    /// Never the password (``text`` holds it, for the file it is written to).
    public var description: String { "BridgeConfig(farm: \(farm), central: \(centralHost):\(centralPort), password: <redacted>)" }
    public var debugDescription: String { description }
}
