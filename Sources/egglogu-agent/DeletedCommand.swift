import ArgumentParser
import EggloguCLI
import EggloguCore
import EggloguJSON
import EggloguStore

struct DeletedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deleted",
        abstract: "List soft-deleted records, newest first, to restore with `restore`."
    )

    @OptionGroup var options: ReplicaOptions

    @Option(help: "Only deletions this recent: 90s, 30m, 24h, 7d, 2w (default: all).")
    var since: String?

    @Option(help: "At most this many records.")
    var limit = 1_000

    @Flag(help: "Print the records as JSON.")
    var json = false

    func validate() throws {
        if let since, DurationText.seconds(since) == nil {
            throw ValidationError("--since takes a duration such as 90s, 30m, 24h, 7d or 2w, not \"\(since)\"")
        }
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
    }

    func run() async throws {
        try await reportingFailures {
            let replica = try await options.openForReading()
            let cutoff = since.flatMap(DurationText.seconds).map {
                replica.configuration.wallClock().adding(milliseconds: -Int64($0 * 1000))
            }
            let records = try await replica.deleted(since: cutoff ?? .epoch, limit: limit)
            if json {
                say(JSONValue.array(records.map(\.json)).jsonText(.pretty))
                return
            }
            if records.isEmpty {
                say(since.map { "nothing deleted in the last \($0)" } ?? "nothing deleted")
                return
            }
            for record in records {
                let name = record.collection == CollectionName.values ? record.id : "\(record.collection) \(record.id)"
                say("\(record.deletedAt.iso8601)  \(name)  (deleted by \(record.deletedBy))")
            }
        }
    }
}
