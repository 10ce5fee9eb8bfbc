import ArgumentParser
import EggloguAgentSync
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
        abstract: "Report every bad or missing setting of a config file by name, as `run` would see it.",
        discussion: """
            Reads FILE, layers the EGGLOGU_* environment over it (unless --file-only) and checks every key: \
            values, that files exist and are readable, that secrets are mode 0600, that the token is a token \
            for this device and farm. Exits 0 when nothing is wrong, 78 otherwise (warnings included).
            """
    )

    @Argument(help: "The config file.")
    var file: String

    @Flag(name: .customLong("file-only"), help: "Ignore EGGLOGU_* environment variables.")
    var fileOnly = false

    @Flag(help: "Print the problems as a JSON array.")
    var json = false

    func run() throws {
        let environment = fileOnly ? [:] : ProcessInfo.processInfo.environment
        let settings: Settings
        do {
            settings = try AgentSettings.load(configFile: file, environment: environment)
        } catch let error as CommandFailure {
            if json {
                say(ConfigCheckReport(file: file, problems: [SettingProblem(key: nil, error.message)]).render(json: true))
            } else {
                FileHandle.standardError.write(Data("egglogu-agent: \(error.message)\n".utf8))
            }
            throw Sysexits.config
        }
        let config = AgentConfig(settings, for: .run)
        let report = ConfigCheckReport(
            file: file,
            problems: config.problems,
            summary: summary(config),
            brokerNote: " (the agent would poll instead)"
        )
        say(report.render(json: json))
        if !config.problems.isEmpty { throw Sysexits.config }
    }

    private func summary(_ config: AgentConfig) -> [String] {
        var lines = ["replica  \(config.settings["EGGLOGU_REPLICA"] ?? "-")"]
        var server = "server   \(config.serverURL ?? "-")"
        if let token = config.token?.current, let claims = UnverifiedClaims(token) {
            let expires = ISO8601DateFormatter().string(from: claims.expiresAt)
            server += " (token for \(claims.subject) on \(claims.farms.joined(separator: ", ")), expires \(expires))"
        }
        lines.append(server)
        if let broker = config.broker {
            var line = "broker   \(broker.host):\(broker.port)" + (broker.tls != nil ? " over TLS" : "")
            if let user = broker.username { line += ", user \(user)" }
            lines.append(line)
        } else {
            lines.append("broker   none: the agent polls every \(config.service.pollInterval) s")
        }
        return lines
    }
}

struct ConfigKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "List every setting with what it means.")

    func run() {
        say(AgentSettings.schema.listing)
    }
}
