import ArgumentParser
import EggloguCLI
import EggloguJSON
import EggloguStore

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load an egglogu_data blob into the replica.",
        discussion: """
            Records the replica never saw are backfilled at the Unix epoch; records changed since this \
            replica's previous import are stamped now. A record missing from the blob is soft-deleted \
            only if the previous import had it, or with --prune. The import is one transaction: \
            on any error the replica is left exactly as it was. On a terminal, a long import shows its \
            progress on standard error.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The blob file, or - for standard input.")
    var file: String

    @Flag(help: "Also delete live records from other devices that the blob lacks (in the collections it has).")
    var prune = false

    @Option(name: .customLong("max-size"), help: "Refuse blobs larger than this many MB (default 32).")
    var maxSize: Int = Replica.defaultMaxImportBytes >> 20

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            guard maxSize > 0 && maxSize <= 4096 else { throw CommandFailure(Sysexits.usage, "--max-size must be 1 to 4096") }
            let bytes = try InputFile.read(file, limit: maxSize << 20)
            let replica = try await options.open(create: true)
            let line = ProgressLine("importing")
            let size = bytes.count
            let progress: @Sendable (Int, Int) -> Void = { done, total in
                line.update(done: done, total: total, bytes: total > 0 ? size * done / total : size, totalBytes: size)
            }
            let report = try await replica.importBlob(bytes, options: ImportOptions(prune: prune, source: file, progress: progress))
            line.finish()
            if json {
                let value: JSONValue = [
                    "records": .number(JSONNumber(report.records)), "added": .number(JSONNumber(report.added)),
                    "updated": .number(JSONNumber(report.updated)), "unchanged": .number(JSONNumber(report.unchanged)),
                    "stale": .number(JSONNumber(report.stale)), "deleted": .number(JSONNumber(report.deleted)),
                    "conflicts": .number(JSONNumber(report.conflicts)), "clamped": .number(JSONNumber(report.clamped)),
                    "bytes": .number(JSONNumber(size)), "seconds": .number(JSONNumber((line.elapsed * 1000).rounded() / 1000)),
                ]
                say(value.jsonText())
            } else {
                say(
                    "imported \(file): \(report.records) records (\(report.added) added, \(report.updated) updated, "
                        + "\(report.unchanged) unchanged, \(report.stale) stale), \(report.deleted) deleted, "
                        + "\(report.conflicts) conflicts, \(report.clamped) future timestamps clamped"
                )
            }
        }
    }
}
