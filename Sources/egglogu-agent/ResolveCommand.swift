import ArgumentParser
import EggloguCLI
import EggloguStore

struct ResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Resolve a conflict: keep the archived version, or accept the kept one.",
        discussion: """
            --keep-mine republishes the archived version so it wins on every device (an archived deletion \
            deletes again). --accept-theirs drops it. Ids may be shortened to a unique prefix.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The conflict id (from `conflicts`).")
    var id: String

    @Flag(name: .customLong("keep-mine"), help: "Republish the archived version.")
    var keepMine = false

    @Flag(name: .customLong("accept-theirs"), help: "Keep the current version and drop the archived one.")
    var acceptTheirs = false

    func validate() throws {
        guard keepMine != acceptTheirs else {
            throw ValidationError("give exactly one of --keep-mine and --accept-theirs")
        }
    }

    func run() async throws {
        try await reportingFailures {
            let replica = try await options.open(create: false)
            let result = try await replica.resolve(id, choice: keepMine ? .keepMine : .acceptTheirs)
            let entry = result.entry
            var line = "resolved \(entry.id) (\(entry.collection)/\(entry.recordID)): \(entry.resolution!.choice.rawValue)"
            if let version = result.republished {
                line += version.isDeleted ? ", deleted again" : ", archived version restored"
            }
            say(line)
        }
    }
}
