import Foundation

/// Everything a new gateway needs, written to one directory by `egglogu-sync-server provision`:
///
/// - `agent/`: `agent.conf` (0644, no secrets), `token` and `mqtt-password` (0600), the CAs to
///   trust; copied as a whole to `/etc/egglogu-agent/`. Paths in `agent.conf` are relative to
///   its directory, so the bundle also runs where it was written.
/// - `central-broker/`: the `passwd` lines and `acl` blocks to add on the central broker.
/// - `gateway-broker/` (with a gateway broker): its `passwd`, `acl`, the bridge in `bridge.d/`
///   (0600) and the central CA, for `/etc/mosquitto/egglogu/` on the gateway.
/// - `INSTALL.txt`: the steps, with this farm's names filled in.
public struct GatewayBundle: Sendable {
    /// The central broker as devices reach it.
    public struct Broker: Sendable {
        public var host: String
        public var port: Int
        /// The CA of the broker's certificate: TLS when set.
        public var caFile: String?

        public init(host: String, port: Int, caFile: String?) {
            self.host = host
            self.port = port
            self.caFile = caFile
        }
    }

    public var farm: String
    public var device: String
    public var token: String
    public var serverURL: String
    public var serverCAFile: String?
    public var broker: Broker?
    /// Route the agent through a broker on the gateway, bridged to the central one.
    public var gatewayBroker = false
    /// Where the agent keeps its replica on the gateway.
    public var stateDirectory = "/var/lib/egglogu-agent"

    public init(farm: String, device: String, token: String, serverURL: String) {
        self.farm = farm
        self.device = device
        self.token = token
        self.serverURL = serverURL
    }

    /// Ids are `[A-Za-z0-9._-]{1,64}`: they end up in topics, usernames and file names.
    public static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
            }
    }

    /// What was written, for the command's summary.
    public struct Result: Sendable {
        /// The central broker's new lines and blocks, by username.
        public var centralUsers: [(username: String, passwdLine: String, aclBlock: String)] = []
        public var files: [String] = []

        public init() {}
    }

    /// Writes the bundle into `directory`, which must not exist or be empty.
    public func write(to directory: String) throws -> Result {
        guard Self.isValidID(farm), Self.isValidID(device) else {
            throw ProvisioningError("farm and device ids are 1 to 64 letters, digits, '.', '_' or '-'")
        }
        guard device != "bridge" else { throw ProvisioningError("the device id 'bridge' is reserved for gateway-broker bridges") }
        if gatewayBroker, broker?.caFile == nil {
            throw ProvisioningError("a gateway broker bridges to the central broker over TLS: give the central broker's CA file")
        }
        var out = try BundleDirectory(directory)
        var result = Result()
        let password = MosquittoPassword.generate()
        let username = BrokerACL.username(device: device, farm: farm)

        try out.write("agent/token", token + "\n", mode: 0o600)
        if broker != nil { try out.write("agent/mqtt-password", password + "\n", mode: 0o600) }
        if let serverCAFile { try out.copy(serverCAFile, to: "agent/server-ca.pem") }
        if !gatewayBroker, let ca = broker?.caFile { try out.copy(ca, to: "agent/broker-ca.pem") }
        try out.write("agent/agent.conf", agentConfig(username: username), mode: 0o644)

        if gatewayBroker, let broker, let ca = broker.caFile {
            let bridgePassword = MosquittoPassword.generate()
            let bridgeUser = BrokerACL.bridgeUsername(farm: farm)
            result.centralUsers.append(
                (bridgeUser, try MosquittoPassword.line(username: bridgeUser, password: bridgePassword), BrokerACL.bridgeBlock(farm: farm))
            )
            let bridge = BridgeConfig(farm: farm, centralHost: broker.host, centralPort: broker.port, password: bridgePassword)
            try out.write("gateway-broker/bridge.d/\(bridge.fileName)", bridge.text, mode: 0o600)
            try out.copy(ca, to: "gateway-broker/tls/central-ca.pem")
            try out.write("gateway-broker/passwd", try MosquittoPassword.line(username: username, password: password) + "\n", mode: 0o600)
            try out.write("gateway-broker/acl", "\n" + BrokerACL.deviceBlock(device: device, farm: farm), mode: 0o644)
        } else if broker != nil {
            result.centralUsers.append(
                (username, try MosquittoPassword.line(username: username, password: password), BrokerACL.deviceBlock(device: device, farm: farm))
            )
        }
        if !result.centralUsers.isEmpty {
            try out.write("central-broker/passwd", result.centralUsers.map { $0.passwdLine + "\n" }.joined(), mode: 0o600)
            try out.write("central-broker/acl", result.centralUsers.map { "\n" + $0.aclBlock }.joined(), mode: 0o644)
        }
        try out.write("INSTALL.txt", instructions(result), mode: 0o644)
        result.files = out.written
        return result
    }

    private func agentConfig(username: String) -> String {
        var lines = [
            "# egglogu-agent for device \(device) of farm \(farm), written by egglogu-sync-server provision.",
            "# One KEY=value per line; EGGLOGU_* environment variables override these. Relative paths",
            "# are relative to this file's directory. Check with: egglogu-agent config check agent.conf",
            "EGGLOGU_REPLICA=\(stateDirectory)/replica.sqlite",
            "EGGLOGU_DEVICE_ID=\(device)",
            "EGGLOGU_FARM_ID=\(farm)",
            "EGGLOGU_SERVER_URL=\(serverURL)",
            "EGGLOGU_TOKEN_FILE=token",
        ]
        if serverCAFile != nil { lines.append("EGGLOGU_SERVER_CA_FILE=server-ca.pem") }
        if let broker {
            if gatewayBroker {
                lines += [
                    "# The broker on this gateway, bridged to \(broker.host):\(broker.port).", "EGGLOGU_MQTT_HOST=127.0.0.1",
                    "EGGLOGU_MQTT_PORT=1883",
                ]
            } else {
                lines += ["EGGLOGU_MQTT_HOST=\(broker.host)", "EGGLOGU_MQTT_PORT=\(broker.port)"]
                if broker.caFile != nil { lines.append("EGGLOGU_MQTT_TLS_CA_FILE=broker-ca.pem") }
            }
            lines += ["EGGLOGU_MQTT_USERNAME=\(username)", "EGGLOGU_MQTT_PASSWORD_FILE=mqtt-password"]
        } else {
            lines.append("# No broker was given: the agent polls the server. Provision again with --mqtt-host for real time.")
        }
        lines += [
            "# The status page (sync health, conflicts, undo): on = 127.0.0.1:8787; for the farm's LAN use",
            "# 0.0.0.0:8787 with a password file (mode 0600, owner egglogu-agent).",
            "#EGGLOGU_HTTP_LISTEN=on",
            "#EGGLOGU_HTTP_PASSWORD_FILE=http-password",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    private func instructions(_ result: Result) -> String {
        var steps = [
            "Gateway \(device) of farm \(farm)",
            "",
            "On the gateway, with the egglogu-agent package installed:",
            "  sudo install -m 0640 -g egglogu-agent agent/agent.conf /etc/egglogu-agent/agent.conf",
            "  sudo install -m 0600 agent/token /etc/egglogu-agent/token",
        ]
        if broker != nil { steps.append("  sudo install -m 0600 agent/mqtt-password /etc/egglogu-agent/mqtt-password") }
        for ca in ["server-ca.pem", "broker-ca.pem"] where result.files.contains("agent/\(ca)") {
            steps.append("  sudo install -m 0644 agent/\(ca) /etc/egglogu-agent/\(ca)")
        }
        steps += [
            "  sudo egglogu-agent config check /etc/egglogu-agent/agent.conf",
            "  sudo systemctl restart egglogu-agent && systemctl status egglogu-agent",
            "(The unit hands token and mqtt-password to the agent as systemd credentials.)",
        ]
        if gatewayBroker {
            steps += [
                "", "On the gateway, for its broker (mosquitto/gateway.conf installed as /etc/mosquitto/egglogu/gateway.conf):",
                "  sudo sh -c 'cat gateway-broker/passwd >> /etc/mosquitto/egglogu/passwd; cat gateway-broker/acl >> /etc/mosquitto/egglogu/acl'",
                "  sudo install -m 0640 -g mosquitto gateway-broker/bridge.d/* /etc/mosquitto/egglogu/bridge.d/",
                "  sudo install -m 0644 gateway-broker/tls/central-ca.pem /etc/mosquitto/egglogu/tls/central-ca.pem",
                "  sudo systemctl reload mosquitto",
            ]
        }
        if !result.centralUsers.isEmpty {
            steps += [
                "", "On the central broker (users: \(result.centralUsers.map(\.username).joined(separator: ", "))), unless",
                "provision ran with --broker-dir there already:",
                "  sudo sh -c 'cat central-broker/passwd >> /etc/mosquitto/egglogu/passwd; cat central-broker/acl >> /etc/mosquitto/egglogu/acl'",
                "  sudo systemctl reload mosquitto",
            ]
        }
        steps += ["", "Keep this directory private, or delete it once installed: it holds the device's secrets."]
        return steps.joined(separator: "\n") + "\n"
    }
}

extension GatewayBundle: CustomStringConvertible, CustomDebugStringConvertible {
    /// Never the token.
    public var description: String { "GatewayBundle(farm: \(farm), device: \(device), server: \(serverURL), token: <redacted>)" }
    public var debugDescription: String { description }
}
