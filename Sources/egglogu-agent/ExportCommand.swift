import ArgumentParser
import EggloguCLI
import EggloguStore
import Foundation

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the live data as an egglogu_data blob."
    )

    @OptionGroup var options: ReplicaOptions

    @Option(name: [.short, .long], help: "Write to this file (atomically) instead of standard output.")
    var output: String?

    @Flag(help: "Indent the JSON.")
    var pretty = false

    func run() async throws {
        try await reportingFailures {
            let replica = try await options.openForReading()
            let bytes = try await replica.exportBlob(style: pretty ? .pretty : .compact)
            do throws(OutputFileError) {
                if let output {
                    try OutputFile.replace(output, with: bytes)
                } else {
                    try OutputFile.writeStandardOutput(bytes)
                }
            } catch {
                throw CommandFailure(output == nil ? Sysexits.ioError : Sysexits.cannotCreate, error.description)
            }
        }
    }
}
