import ArgumentParser
import EggloguCLI
import EggloguStore

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Undo a soft delete: bring a deleted record back on every device.",
        discussion: """
            The record comes back with the content it had when it was deleted, and the restore beats the \
            deletion everywhere (a running agent pushes it at once). `deleted` lists what can be restored.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The collection, farm, settings, or a value's key (as `deleted` lists it).")
    var collection: String

    @Argument(help: "The record id (the field for farm and settings; none for a value).")
    var id: String?

    func run() async throws {
        try await reportingFailures {
            let replica = try await options.open(create: false)
            let outcome = try await replica.restore(collection, id: id)
            say("\(outcome.rawValue) \(collection)" + (id.map { "/\($0)" } ?? ""))
        }
    }
}
