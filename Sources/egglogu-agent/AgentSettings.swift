import EggloguCLI
import EggloguSettings
import Foundation

/// The agent's settings: a config file, then the environment, then flags.
///
/// The file is found by `--config`, else `EGGLOGU_CONFIG` (empty: none), else the installed
/// `/etc/egglogu-agent/agent.conf` when no replica is named at all, so `sudo egglogu-agent status`
/// works on a gateway as is.
enum AgentSettings {
    static let defaultConfigFile = "/etc/egglogu-agent/agent.conf"

    static let schema = SettingsSchema(
        prefix: "EGGLOGU_",
        keys: [
            .init("EGGLOGU_REPLICA", path: true, "The replica file (required)."),
            .init("EGGLOGU_DEVICE_ID", "This device's id; a new replica takes it, an existing one must match."),
            .init("EGGLOGU_FARM_ID", "The farm the replica holds; fixed once set."),
            .init("EGGLOGU_MAX_CLOCK_SKEW", "Seconds a timestamp may lie ahead of now (1 to 86400, default 300)."),
            .init("EGGLOGU_SERVER_URL", "The sync server, http:// or https://."),
            .init("EGGLOGU_SERVER_CA_FILE", path: true, "A PEM CA bundle trusted for the server besides the system roots."),
            .init("EGGLOGU_TOKEN_FILE", path: true, "A file holding the bearer token (mode 0600 or stricter)."),
            .init("EGGLOGU_TOKEN", "The bearer token itself (prefer EGGLOGU_TOKEN_FILE)."),
            .init("EGGLOGU_RENEWED_TOKEN_FILE", path: true, "Where renewed tokens go when the token file is read-only (a systemd credential)."),
            .init("EGGLOGU_MQTT_HOST", "The broker for notices; without it the agent only polls."),
            .init("EGGLOGU_MQTT_PORT", "The broker's port (default 1883, 8883 with TLS)."),
            .init("EGGLOGU_MQTT_USERNAME", "Broker username (provisioning makes device@farm)."),
            .init("EGGLOGU_MQTT_PASSWORD", "Broker password (prefer EGGLOGU_MQTT_PASSWORD_FILE)."),
            .init("EGGLOGU_MQTT_PASSWORD_FILE", path: true, "A file holding the broker password (mode 0600; empty: none)."),
            .init("EGGLOGU_MQTT_TLS_CA_FILE", path: true, "Connect to the broker over TLS, trusting this CA."),
            .init("EGGLOGU_MQTT_TLS_CERT_FILE", path: true, "A client certificate for the broker (with the key)."),
            .init("EGGLOGU_MQTT_TLS_KEY_FILE", path: true, "The client certificate's key (mode 0600)."),
            .init("EGGLOGU_MQTT_KEEPALIVE", "Seconds between keep-alives (5 to 3600, default 30)."),
            .init("EGGLOGU_POLL_INTERVAL", "Seconds between polls while no broker is reachable (default 30, ±10%)."),
            .init("EGGLOGU_SAFETY_POLL_INTERVAL", "Seconds between polls while the broker is connected (default 900)."),
            .init("EGGLOGU_PUSH_DEBOUNCE", "Seconds local writes after the first wait to go out together (default 0.05)."),
            .init("EGGLOGU_HTTP_LISTEN", "The status page: off (default), on (127.0.0.1:8787), HOST:PORT, HOST or PORT."),
            .init(
                "EGGLOGU_HTTP_HOST_NAMES",
                "Comma-separated host names the page answers to without a password, besides localhost, 127.0.0.1, [::1] and its listen address."
            ),
            .init("EGGLOGU_HTTP_PASSWORD_FILE", path: true, "A file holding the status page's password (mode 0600); required beyond loopback."),
            .init("EGGLOGU_HTTP_PASSWORD", "The status page's password itself (prefer EGGLOGU_HTTP_PASSWORD_FILE)."),
            .init("EGGLOGU_LOG_LEVEL", "trace, debug, info (default), notice, warning, error or critical."),
        ],
        excludedPrefixes: ["EGGLOGU_SYNC_"]
    )

    /// Which config file applies, if any.
    static func configFile(flag: String?, replicaGiven: Bool, environment: [String: String]) -> String? {
        Settings.configFile(
            flag: flag,
            variable: "EGGLOGU_CONFIG",
            installed: defaultConfigFile,
            useInstalled: !replicaGiven,
            environment: environment
        )
    }

    /// Reads the file (if any) and layers the environment over it.
    static func load(configFile: String?, environment: [String: String]) throws -> Settings {
        do {
            return try Settings.load(schema: schema, configFile: configFile, environment: environment)
        } catch {
            throw CommandFailure(Sysexits.config, error.description)
        }
    }
}
