import ArgumentParser
import EggloguCLI
import EggloguJSON
import EggloguStore

struct ConflictsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "List conflicts, showing the archived and the kept version side by side."
    )

    @OptionGroup var options: ReplicaOptions

    @Flag(help: "Include resolved conflicts.")
    var all = false

    @Flag(help: "Print the entries as JSON.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let replica = try await options.openForReading()
            let entries = try await replica.conflicts(includeResolved: all)
            if json {
                say(JSONValue.array(entries.map { .object($0.record) }).jsonText(.pretty))
                return
            }
            if entries.isEmpty {
                say(all ? "no conflicts" : "no unresolved conflicts")
                return
            }
            for entry in entries {
                say(ConflictTable(entry).text)
            }
        }
    }
}
