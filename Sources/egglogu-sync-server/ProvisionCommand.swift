import ArgumentParser
import EggloguCLI
import EggloguProvisioning
import EggloguServer
import EggloguStore
import Foundation

struct ProvisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Write everything a new gateway needs into DIR: token, broker credentials and ACL, agent config.",
        discussion: """
            Mints the device's token and registers it, makes its broker user DEVICE@FARM with a random \
            password, and writes the agent's config with the secrets in files of mode 0600 (INSTALL.txt in DIR \
            lists the steps). With --broker-dir the central broker's passwd and acl there are updated at once \
            (reload the broker afterwards). With --gateway-broker the agent talks to a broker on the gateway, \
            which bridges the farm's topics to the central broker over TLS as bridge@FARM.
            """
    )

    @OptionGroup var data: DataOptions

    @Option(help: "The farm id.")
    var farm: String

    @Option(help: "The device id (the token's subject, the broker user DEVICE@FARM).")
    var device: String

    @Option(help: "The directory to write; it must not exist or be empty.")
    var out: String

    @Option(name: .customLong("server-url"), help: "The URL the gateway reaches this server at (EGGLOGU_SYNC_PUBLIC_URL).")
    var serverURL: String?

    @Option(name: .customLong("server-ca-file"), help: "A CA the gateway should trust for the server (copied into the bundle).")
    var serverCAFile: String?

    @Option(name: .customLong("mqtt-host"), help: "The central broker as gateways reach it (EGGLOGU_SYNC_DEVICE_MQTT_HOST); none: the agent polls.")
    var mqttHost: String?

    @Option(name: .customLong("mqtt-port"), help: "Its port (EGGLOGU_SYNC_DEVICE_MQTT_PORT; default 8883 with a CA, else 1883).")
    var mqttPort: Int?

    @Option(name: .customLong("mqtt-ca-file"), help: "The CA of the broker's certificate (EGGLOGU_SYNC_DEVICE_MQTT_CA_FILE): TLS.")
    var mqttCAFile: String?

    @Flag(name: .customLong("gateway-broker"), help: "The gateway runs its own broker, bridged to the central one.")
    var gatewayBroker = false

    @Option(
        name: .customLong("broker-dir"),
        help: "The central broker's directory holding passwd and acl (e.g. /etc/mosquitto/egglogu): add the new users there."
    )
    var brokerDirectory: String?

    @Option(name: .customLong("state-dir"), help: "Where the agent keeps its replica on the gateway (default /var/lib/egglogu-agent).")
    var stateDirectory = "/var/lib/egglogu-agent"

    @Option(help: "The token's lifetime: 365d, 12h... (default 365d; the agent renews it at two thirds).")
    var ttl = "365d"

    func run() async throws {
        try await reportingFailures {
            guard GatewayBundle.isValidID(farm), GatewayBundle.isValidID(device) else {
                throw CommandFailure(Sysexits.usage, "--farm and --device take 1 to 64 letters, digits, '.', '_' or '-'")
            }
            guard !SyncServer.reservedDevices.contains(device) else { throw CommandFailure(Sysexits.usage, "the device id \(device) is reserved") }
            guard let lifetime = parseDuration(ttl) else { throw CommandFailure(Sysexits.usage, "--ttl takes 365d, 12h, 30m, 45s or seconds") }
            let config = try data.config(
                for: .admin,
                flags: [
                    "EGGLOGU_SYNC_PUBLIC_URL": serverURL, "EGGLOGU_SYNC_DEVICE_MQTT_HOST": mqttHost,
                    "EGGLOGU_SYNC_DEVICE_MQTT_PORT": mqttPort.map(String.init), "EGGLOGU_SYNC_DEVICE_MQTT_CA_FILE": mqttCAFile,
                ]
            )
            let settings = config.settings
            guard let url = settings["EGGLOGU_SYNC_PUBLIC_URL"], url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw CommandFailure(
                    Sysexits.usage,
                    "pass --server-url http(s)://HOST:PORT (or set EGGLOGU_SYNC_PUBLIC_URL): where gateways reach this server"
                )
            }
            var broker: GatewayBundle.Broker?
            if let host = settings["EGGLOGU_SYNC_DEVICE_MQTT_HOST"] {
                let ca = settings["EGGLOGU_SYNC_DEVICE_MQTT_CA_FILE"]
                guard let port = Int(settings["EGGLOGU_SYNC_DEVICE_MQTT_PORT"] ?? (ca == nil ? "1883" : "8883")), (1...65_535).contains(port) else {
                    throw CommandFailure(Sysexits.usage, "the broker port must be 1 to 65535")
                }
                broker = .init(host: host, port: port, caFile: ca)
            } else if gatewayBroker || brokerDirectory != nil {
                throw CommandFailure(Sysexits.usage, "--gateway-broker and --broker-dir need --mqtt-host: the central broker as gateways reach it")
            }
            var bundle = GatewayBundle(farm: farm, device: device, token: "", serverURL: url)
            bundle.serverCAFile = serverCAFile
            bundle.broker = broker
            bundle.gatewayBroker = gatewayBroker
            bundle.stateDirectory = stateDirectory
            var result = GatewayBundle.Result()
            // The bundle and the broker's files are written as the invoking user (root, on a
            // server); the device registry as the data directory's owner.
            let (_, directory) = try await DataOptions.mintingSetup(config) { secret in
                let authority = try await TokenAuthority(secret: secret)
                bundle.token = try await authority.mint(subject: device, farms: [farm], lifetime: lifetime).token
                do {
                    result = try bundle.write(to: out)
                    if let brokerDirectory { try BrokerFiles(directory: brokerDirectory).apply(result.centralUsers) }
                } catch let error as ProvisioningError {
                    throw CommandFailure(Sysexits.cannotCreate, error.description)
                }
            }
            _ = try await SharedDatabase.withDevices(config, directory: directory) { [device, farm] in
                try await $0.register(device: device, farms: [farm])
            }

            print("provisioned \(device) of farm \(farm) into \(out) (see INSTALL.txt)")
            for file in result.files { print("  " + file) }
            for user in result.centralUsers {
                print(
                    brokerDirectory == nil
                        ? "  central broker user \(user.username): add central-broker/passwd and acl, then reload"
                        : "  central broker user \(user.username): added to \(brokerDirectory!); reload the broker"
                )
            }
        }
    }
}
