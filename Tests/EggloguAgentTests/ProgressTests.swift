import EggloguCLI
import EggloguFixtures
import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// Long work shows its progress on a terminal, and only there.
@Suite(.ownThreads) struct ProgressTests {
    let dir = TemporaryDirectory()

    @Test func theLineSaysRecordsBytesRateAndTimeLeft() {
        let line = ProgressLine.describe(label: "importing", done: 120_000, total: 186_000, bytes: 14_889_779, totalBytes: 23_068_672, seconds: 2)
        #expect(line == "importing  120,000 / 186,000 records  14.2 / 22.0 MB  60,000 records/s  1.1 s left")
        #expect(
            ProgressLine.describe(label: "syncing", done: 500, total: nil, bytes: 1_048_576, totalBytes: nil, seconds: 0.5)
                == "syncing  500 records  1.0 MB  1,000 records/s"
        )
    }

    /// `import` of a large farm under a pseudo-terminal (`script`) draws the line; the same import
    /// into a pipe prints only its report, and `--json` a summary with its size and time.
    @Test func aLongImportShowsProgressOnATerminalOnly() throws {
        let farm = dir.file("farm.json")
        try Data(FarmGenerator(size: .large, seed: 5).bytes()).write(to: URL(fileURLWithPath: farm))
        let agent = Subprocess.executable("egglogu-agent")
        let command = "\(agent) import --replica \(dir.file("tty.sqlite")) \(farm)"
        let terminal = try Subprocess.runTool("/usr/bin/script", ["-q", "-e", "-c", command, "/dev/null"])
        #expect(terminal.status == 0, "\(terminal.stderr)")
        #expect(terminal.stdout.contains("importing  "), "\(terminal.stdout.suffix(500))")
        #expect(terminal.stdout.contains("records/s") && terminal.stdout.contains("s left") && terminal.stdout.contains(" MB"))
        #expect(terminal.stdout.contains("imported \(farm)"))

        let piped = try Subprocess.run("egglogu-agent", ["import", "--replica", dir.file("pipe.sqlite"), "--json", farm], in: dir)
        #expect(piped.status == 0)
        #expect(piped.stderr.isEmpty, "silent when not a terminal: \(piped.stderr)")
        let summary = try JSONParser().parse(piped.stdout).objectValue
        #expect(summary?["bytes"]?.numberValue?.intValue ?? 0 > 1_000_000)
        #expect(summary?["seconds"]?.numberValue != nil)
        #expect(summary?["records"]?.numberValue?.intValue ?? 0 > 10_000)
    }
}
