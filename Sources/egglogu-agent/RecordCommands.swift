import ArgumentParser
import EggloguJSON
import EggloguStore
import Foundation

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print a record, a collection's live records, a singleton (farm, settings) or a value.")

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "A collection (flocks, feed.purchases, ...), farm, settings, or a top-level value's key.")
    var collection: String

    @Argument(help: "A record id (a field name for farm and settings).")
    var id: String?

    @Flag(name: .customLong("include-deleted"), help: "List deleted records too.")
    var includeDeleted = false

    @Flag(help: "Print compact JSON.")
    var compact = false

    func run() throws {
        try reportingErrors {
            let replica = try options.open(create: false)
            let value = try replica.get(collection, id: id, includeDeleted: includeDeleted)
            say(value.jsonText(compact ? .compact : .pretty))
        }
    }
}

struct PutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Create or fully replace a record (or singleton, or value).",
        discussion: """
            A record without "id" gets one in the app's genId style. A put on a deleted record restores it. \
            Sync metadata in the JSON (_updatedAt, _sync*) is ignored: the replica stamps the write.
            """)

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The collection, farm, settings, or a value's key.")
    var collection: String

    @Argument(help: "The JSON, or - to read it from standard input.")
    var json: String

    func run() throws {
        try reportingErrors {
            let bytes = json == "-" ? try InputFile.read("-", limit: 16 << 20) : Array(json.utf8)
            let value: JSONValue
            do {
                value = try JSONParser().parse(bytes)
            } catch {
                throw CLIError(Sysexits.dataError, "malformed JSON: \(error)")
            }
            let replica = try options.open(create: true)
            let result = try replica.put(collection, value)
            say("\(result.outcome.rawValue) \(collection)/\(result.id)")
        }
    }
}

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Soft-delete a record (a field of farm or settings, or a value).")

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The collection, farm, settings, or a value's key.")
    var collection: String

    @Argument(help: "The record id (the field for farm and settings; none for a value).")
    var id: String?

    func run() throws {
        try reportingErrors {
            let replica = try options.open(create: false)
            let outcome = try replica.delete(collection, id: id)
            say("\(outcome.rawValue) \(collection)" + (id.map { "/\($0)" } ?? ""))
        }
    }
}
