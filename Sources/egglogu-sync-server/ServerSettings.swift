import EggloguCLI
import EggloguSettings
import Foundation

/// The server's settings: a config file, then `EGGLOGU_SYNC_*` environment variables, then flags.
///
/// The file is found by `--config`, else `EGGLOGU_SYNC_CONFIG` (empty: none), else the installed
/// `/etc/egglogu-sync-server/server.conf` when no data directory is named at all.
enum ServerSettings {
    static let defaultConfigFile = "/etc/egglogu-sync-server/server.conf"

    static let schema = SettingsSchema(
        prefix: "EGGLOGU_SYNC_",
        keys: [
            .init("EGGLOGU_SYNC_DATA_DIR", path: true, "The data directory: one SQLite file per farm, the device registry (required)."),
            .init(
                "EGGLOGU_SYNC_JWT_SECRET_FILE",
                path: true,
                "The HS256 secret, at least 32 bytes, mode 0600 (default DATA_DIR/jwt-secret, created)."
            ),
            .init(
                "EGGLOGU_SYNC_DATABASE",
                "Where farms and devices live: sqlite (default, one file per farm in DATA_DIR) or postgres://USER@HOST:PORT/DATABASE, shared by several instances."
            ),
            .init("EGGLOGU_SYNC_DATABASE_PASSWORD_FILE", path: true, "A file holding the PostgreSQL password (mode 0600)."),
            .init("EGGLOGU_SYNC_DATABASE_CONNECTIONS", "PostgreSQL connections per instance at most (default 20)."),
            .init("EGGLOGU_SYNC_HOST", "The address to listen on (default 127.0.0.1)."),
            .init("EGGLOGU_SYNC_PORT", "The port to listen on (default 8080; 0 picks a free one)."),
            .init("EGGLOGU_SYNC_MAX_CLOCK_SKEW", "Seconds a record may be stamped ahead of server time (1 to 86400, default 300)."),
            .init(
                "EGGLOGU_SYNC_MAX_OPEN_FARMS",
                "Farm databases kept open while idle, about 400 KB and 5 files each (default 512)."
            ),
            .init(
                "EGGLOGU_SYNC_TOMBSTONE_RETENTION",
                "Days deletions and resolved conflicts are kept; older cursors must resync (default 90; 0 keeps them forever)."
            ),
            .init(
                "EGGLOGU_SYNC_NOTICE_INLINE_BYTES",
                "Largest notice sent with the push's changes, which devices apply without a pull (default and most 8192; 0: plain notices)."
            ),
            .init("EGGLOGU_SYNC_IDLE_TIMEOUT", "Seconds an idle connection stays open between requests (default 30)."),
            .init("EGGLOGU_SYNC_HEADER_TIMEOUT", "Seconds from a request's first byte to its complete head (default 10)."),
            .init("EGGLOGU_SYNC_BODY_TIMEOUT", "Seconds from a request's head to the end of its body (default 60)."),
            .init("EGGLOGU_SYNC_SEND_TIMEOUT", "Seconds an answer may wait for a client that stopped reading it (default 60)."),
            .init("EGGLOGU_SYNC_TLS_CERT", path: true, "A PEM certificate chain: serve HTTPS (with EGGLOGU_SYNC_TLS_KEY)."),
            .init("EGGLOGU_SYNC_TLS_KEY", path: true, "The certificate's PEM private key (mode 0600)."),
            .init("EGGLOGU_SYNC_PUBLIC_KEYS", "Comma-separated PEM public keys of external ES256/RS256 token issuers."),
            .init(
                "EGGLOGU_SYNC_APP_JWT_SECRET_FILE",
                path: true,
                "The EGGlogU backend's HS256 secret (mode 0600): accept its access tokens on /api/v1/sync."
            ),
            .init("EGGLOGU_SYNC_APP_FARM_CLAIM", "The claim of the backend's tokens that names the farm (default org)."),
            .init("EGGLOGU_SYNC_MQTT_HOST", "Publish change notices to this broker."),
            .init("EGGLOGU_SYNC_MQTT_PORT", "The broker's port (default 1883, 8883 with TLS)."),
            .init("EGGLOGU_SYNC_MQTT_USERNAME", "Broker username (egglogu-sync-server in mosquitto/central.acl)."),
            .init("EGGLOGU_SYNC_MQTT_PASSWORD_FILE", path: true, "A file holding the broker password (mode 0600; empty: none)."),
            .init("EGGLOGU_SYNC_MQTT_CA_FILE", path: true, "Connect to the broker over TLS, trusting this CA."),
            .init("EGGLOGU_SYNC_LOG_LEVEL", "trace, debug, info (default), notice, warning, error or critical."),
            .init("EGGLOGU_SYNC_PUBLIC_URL", "provision: the URL gateways reach this server at, e.g. https://sync.example.org."),
            .init("EGGLOGU_SYNC_DEVICE_MQTT_HOST", "provision: the broker host gateways connect to."),
            .init("EGGLOGU_SYNC_DEVICE_MQTT_PORT", "provision: the broker port gateways connect to (default 8883 with a CA, else 1883)."),
            .init("EGGLOGU_SYNC_DEVICE_MQTT_CA_FILE", path: true, "provision: the CA gateways trust for the broker (copied into the output)."),
        ]
    )

    /// Which config file applies, if any.
    static func configFile(flag: String?, dataDirectoryGiven: Bool, environment: [String: String]) -> String? {
        Settings.configFile(
            flag: flag,
            variable: "EGGLOGU_SYNC_CONFIG",
            installed: defaultConfigFile,
            useInstalled: !dataDirectoryGiven,
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
