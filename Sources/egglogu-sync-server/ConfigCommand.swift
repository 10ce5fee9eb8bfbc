import ArgumentParser
import EggloguCLI
import EggloguSettings
import Foundation

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a config file, or list the settings.",
        subcommands: [ConfigCheckCommand.self, ConfigKeysCommand.self]
    )
}

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Report every bad or missing setting of a config file by name, as `serve` would see it.",
        discussion: """
            Reads FILE, layers the EGGLOGU_SYNC_* environment over it (unless --file-only) and checks every \
            key: values, that files exist and are readable, that secrets are mode 0600. Exits 0 when nothing \
            is wrong, 78 otherwise (warnings included).
            """
    )

    @Argument(help: "The config file.")
    var file: String

    @Flag(name: .customLong("file-only"), help: "Ignore EGGLOGU_SYNC_* environment variables.")
    var fileOnly = false

    @Flag(help: "Print the problems as a JSON array.")
    var json = false

    func run() throws {
        let environment = fileOnly ? [:] : ProcessInfo.processInfo.environment
        let config: ServerConfig
        do {
            config = ServerConfig(try ServerSettings.load(configFile: file, environment: environment), for: .serve)
        } catch let failure as CommandFailure {
            let report = ConfigCheckReport(file: file, problems: [SettingProblem(key: nil, failure.message)])
            if json {
                print(report.render(json: true))
            } else {
                FileHandle.standardError.write(Data("egglogu-sync-server: \(failure.message)\n".utf8))
            }
            throw Sysexits.config
        }
        print(
            ConfigCheckReport(file: file, problems: config.problems, summary: summary(config), brokerNote: " (served without notices)").render(
                json: json
            )
        )
        if !config.problems.isEmpty { throw Sysexits.config }
    }

    private func summary(_ config: ServerConfig) -> [String] {
        let scheme = config.tlsCertificate == nil ? "http" : "https"
        var lines = [
            "data     \(config.dataDirectory ?? "-")",
            "database \(config.database.map { "\($0)" } ?? "sqlite, one file per farm in the data directory")",
            "listen   \(scheme)://\(config.host):\(config.port)",
        ]
        if let mqtt = config.mqtt {
            lines.append("broker   \(mqtt.host):\(mqtt.port)" + (mqtt.tls != nil ? " over TLS" : "") + (mqtt.username.map { ", user \($0)" } ?? ""))
        } else {
            lines.append("broker   none: no change notices")
        }
        return lines
    }
}

struct ConfigKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "List every setting with what it means.")

    func run() {
        print(ServerSettings.schema.listing)
    }
}
