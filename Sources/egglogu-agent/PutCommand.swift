import ArgumentParser
import EggloguCLI
import EggloguJSON
import EggloguStore

struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Create or fully replace a record (or singleton, or value).",
        discussion: """
            A record without "id" gets one in the app's genId style. A put on a deleted record restores it. \
            Sync metadata in the JSON (_updatedAt, _sync*) is ignored: the replica stamps the write.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The collection, farm, settings, or a value's key.")
    var collection: String

    @Argument(help: "The JSON, or - to read it from standard input.")
    var json: String

    func run() async throws {
        try await reportingFailures {
            let bytes = json == "-" ? try InputFile.read("-", limit: 16 << 20) : Array(json.utf8)
            let value: JSONValue
            do {
                value = try JSONParser().parse(bytes)
            } catch {
                throw CommandFailure(Sysexits.dataError, "malformed JSON: \(error)")
            }
            let replica = try await options.open(create: true)
            let result = try await replica.put(collection, value)
            say("\(result.outcome.rawValue) \(collection)/\(result.id)")
        }
    }
}
