import ArgumentParser
import EggloguCLI
import EggloguServer
import EggloguStore
import Foundation

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Mint a token for a device; prints the token alone."
    )

    @OptionGroup var data: DataOptions

    @Option(name: .customLong("farm"), help: "A farm the token grants (repeatable).")
    var farms: [String]

    @Option(help: "The device (the token's subject).")
    var device: String

    @Option(help: "Lifetime: 90d, 12h, 30m, 45s or seconds (default 90d).")
    var ttl = "90d"

    func run() async throws {
        try await reportingFailures {
            guard let lifetime = parseDuration(ttl) else { throw CommandFailure(Sysexits.usage, "--ttl takes 90d, 12h, 30m, 45s or seconds") }
            guard !farms.isEmpty, farms.allSatisfy(DataDirectory.isValidFarmID) else {
                throw CommandFailure(Sysexits.usage, "give --farm with ids of 1 to 64 letters, digits, '.', '_' or '-'")
            }
            guard !device.isEmpty, device.utf8.count <= 256 else { throw CommandFailure(Sysexits.usage, "a device id is 1 to 256 bytes") }
            guard !SyncServer.reservedDevices.contains(device) else { throw CommandFailure(Sysexits.usage, "the device id \(device) is reserved") }
            let config = try data.config(for: .admin, needsData: false)
            let (secret, directory) = try await DataOptions.mintingSetup(config)
            let authority = try await TokenAuthority(secret: secret)
            let minted = try await authority.mint(subject: device, farms: farms, lifetime: lifetime)
            _ = try await SharedDatabase.withDevices(config, directory: directory) { [device, farms] in
                try await $0.register(device: device, farms: farms)
            }
            print(minted.token)
        }
    }
}

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Make every token of a farm's device issued so far fail for that farm, at once."
    )

    @OptionGroup var data: DataOptions

    @Option(help: "The farm (device ids are unique only within a farm).")
    var farm: String

    @Option(help: "The device.")
    var device: String

    func run() async throws {
        try await reportingFailures {
            guard DataDirectory.isValidFarmID(farm) else {
                throw CommandFailure(Sysexits.usage, "--farm takes 1 to 64 letters, digits, '.', '_' or '-'")
            }
            let (config, directory) = try data.adminSetup()
            _ = try await SharedDatabase.withDevices(config, directory: directory) { [farm, device] in
                try await $0.revoke(farm: farm, device: device)
            }
            print("revoked the tokens of \(device) for farm \(farm)")
        }
    }
}

struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List a farm's devices with when they were last seen."
    )

    @OptionGroup var data: DataOptions

    @Option(help: "The farm.")
    var farm: String

    func run() async throws {
        try await reportingFailures {
            let (config, directory) = try data.adminSetup()
            let devices = try await SharedDatabase.withDevices(config, directory: directory) { [farm] in try await $0.devices(farm: farm) } ?? []
            if devices.isEmpty { print("no devices for farm \(farm)") }
            let formatter = ISO8601DateFormatter()
            for device in devices {
                var line = device.device.padding(toLength: max(24, device.device.count), withPad: " ", startingAt: 0)
                line += "  last seen " + (device.lastSeen.map(formatter.string(from:)) ?? "never")
                if let revoked = device.revokedAt { line += "  (revoked \(formatter.string(from: revoked)))" }
                print(line)
            }
        }
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Take an online backup of the data directory into DEST.",
        discussion: """
            Each farm's replica is copied with SQLite's backup API while the server runs, and gets a new \
            epoch: devices that synced after the backup get 410 resync-required from a restored server and \
            push what it lost. To restore, stop the server and replace DATA_DIR with DEST.
            """
    )

    @OptionGroup var data: DataOptions

    @Argument(help: "The destination directory (must not exist).")
    var destination: String

    func run() async throws {
        try await reportingFailures {
            let directory = try data.adminDirectory()
            let farms: Int
            do {
                farms = try await directory.backup(to: destination)
            } catch let error as ServerSetupError {
                throw CommandFailure(Sysexits.cannotCreate, error.description)
            }
            print("backed up \(farms) farms to \(destination)")
        }
    }
}
