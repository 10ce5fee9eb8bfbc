import ArgumentParser
import EggloguCLI
import EggloguStore

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print a record, a collection's live records, a singleton (farm, settings) or a value."
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "A collection (flocks, feed.purchases, ...), farm, settings, or a top-level value's key.")
    var collection: String

    @Argument(help: "A record id (a field name for farm and settings).")
    var id: String?

    @Flag(name: .customLong("include-deleted"), help: "List deleted records too.")
    var includeDeleted = false

    @Flag(help: "Print compact JSON.")
    var compact = false

    func run() async throws {
        try await reportingFailures {
            let replica = try await options.openForReading()
            let value = try await replica.get(collection, id: id, includeDeleted: includeDeleted)
            say(value.jsonText(compact ? .compact : .pretty))
        }
    }
}
