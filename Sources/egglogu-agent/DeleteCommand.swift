import ArgumentParser
import EggloguCLI
import EggloguStore

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Soft-delete a record (a field of farm or settings, or a value)."
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The collection, farm, settings, or a value's key.")
    var collection: String

    @Argument(help: "The record id (the field for farm and settings; none for a value).")
    var id: String?

    func run() async throws {
        try await reportingFailures {
            let replica = try await options.open(create: false)
            let outcome = try await replica.delete(collection, id: id)
            say("\(outcome.rawValue) \(collection)" + (id.map { "/\($0)" } ?? ""))
        }
    }
}
