import ArgumentParser
import EggloguCLI
import EggloguJSON
import EggloguStore
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show counts per collection, unpushed changes and unresolved conflicts.",
        discussion: """
            --json prints the schema documented in docs/status.md. On a full disk it shows what it can \
            read (the replica's main file, read-only), says the disk is full and exits 74.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Flag(help: "Print the documented JSON schema.")
    var json = false

    func run() async throws {
        try await reportingFailures {
            let status = try await options.openForReading(partial: true).status()
            if json {
                say(status.json.jsonText(.pretty))
                try failIfFull(status)
                return
            }
            let live = status.collections.values.reduce(0) { $0 + $1.live }
            let deleted = status.collections.values.reduce(0) { $0 + $1.deleted }
            var lines = [
                "replica    \(status.replica)",
                "device     \(status.deviceID)" + (status.farmID.map { "  farm \($0)" } ?? ""),
                "records    \(live) live, \(deleted) deleted (sequence \(status.sequence))",
                "unpushed   \(status.unpushed) changes",
                "conflicts  \(status.unresolvedConflicts) unresolved, \(status.resolvedConflicts) resolved",
                "clock      \(status.clockHigh.iso8601) (wall clock \(status.now.iso8601))",
            ]
            lines.append("last sync  " + (status.lastSync.map { "\($0.iso8601) (cursor \(status.upstreamCursor ?? "-"))" } ?? "never"))
            if case .object(let service)? = status.service {
                let running = service["running"] == .bool(true)
                let mode = running ? service["mode"]?.stringValue ?? "?" : "stopped"
                let broker = service["broker"]?.objectValue
                let server = service["server"]?.objectValue
                var line = "service    \(mode)"
                if running {
                    line +=
                        broker?["configured"] == .bool(true)
                        ? (broker?["connected"] == .bool(true) ? ", broker connected" : ", broker unreachable") : ", no broker (polling)"
                    line += server?["reachable"] == .bool(true) ? ", server reachable" : ", server unreachable"
                    if let error = server?["error"]?.stringValue { line += " (\(error))" }
                }
                lines.append(line)
                if running, case .object(let catchUp)? = service["catchUp"] {
                    let pulled = catchUp["pulled"]?.numberValue?.intValue ?? 0
                    let rate = catchUp["recordsPerSecond"]?.numberValue?.intValue ?? 0
                    let left = catchUp["remaining"]?.numberValue?.intValue.map { ", about \($0) left" } ?? ""
                    lines.append("catch-up   \(pulled) records pulled\(left) (\(rate) records/s)")
                }
                if running, let web = service["web"]?.stringValue { lines.append("page       \(web)") }
            }
            if case .object(let last)? = status.lastImport {
                let source = last["source"]?.stringValue ?? "?"
                let at = last["at"]?.stringValue ?? "?"
                lines.append("imported   \(source) at \(at)")
            }
            lines.append("collections")
            for name in status.collections.keys.sorted() {
                let c = status.collections[name]!
                lines.append(
                    "  " + name.padding(toLength: 28, withPad: " ", startingAt: 0)
                        + String(c.live).leftPad(8) + " live" + String(c.deleted).leftPad(8) + " deleted"
                )
            }
            lines.insert(diskLine(status.disk), at: 7)
            say(lines.joined(separator: "\n"))
            try failIfFull(status)
        }
    }

    private func diskLine(_ disk: ReplicaStatus.Disk) -> String {
        let free = disk.freeBytes.map { DiskSpace.describe($0) + " free" } ?? "free space unknown"
        guard disk.full else { return "disk       \(free)" }
        guard let snapshot = disk.snapshot else { return "disk       FULL (\(free))" }
        return "disk       FULL (\(free)): read-only"
            + (snapshot.isComplete ? "" : ", without \(DiskSpace.describe(snapshot.unreadLogBytes)) of changes still in the write-ahead log")
    }

    /// A full disk is an error even when the status could be shown: the service cannot store anything.
    private func failIfFull(_ status: ReplicaStatus) throws {
        guard status.disk.full else { return }
        let directory = (status.replica as NSString).deletingLastPathComponent
        throw CommandFailure(Sysexits.ioError, "the disk holding \(directory) is full: nothing can be stored or synced until there is room")
    }
}

extension String {
    fileprivate func leftPad(_ width: Int) -> String {
        String(repeating: " ", count: max(0, width - count)) + self
    }
}
