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
            guard let output else {
                FileHandle.standardOutput.write(Data(bytes))
                FileHandle.standardOutput.write(Data("\n".utf8))
                return
            }
            do {
                try Data(bytes).write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                throw CommandFailure(Sysexits.cannotCreate, "cannot write \(output): \(error.localizedDescription)")
            }
        }
    }
}
