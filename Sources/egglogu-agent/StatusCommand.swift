import ArgumentParser
import EggloguJSON
import EggloguStore

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show counts per collection, unpushed changes and unresolved conflicts.",
        discussion: "--json prints the schema documented in docs/status.md.")

    @OptionGroup var options: ReplicaOptions

    @Flag(help: "Print the documented JSON schema.")
    var json = false

    func run() throws {
        try reportingErrors {
            let status = try options.open(create: false).status()
            if json {
                say(status.json.jsonText(.pretty))
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
                    line += broker?["configured"] == .bool(true)
                        ? (broker?["connected"] == .bool(true) ? ", broker connected" : ", broker unreachable") : ", no broker (polling)"
                    line += server?["reachable"] == .bool(true) ? ", server reachable" : ", server unreachable"
                    if let error = server?["error"]?.stringValue { line += " (\(error))" }
                }
                lines.append(line)
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
                lines.append("  " + name.padding(toLength: 28, withPad: " ", startingAt: 0)
                    + String(c.live).leftPad(8) + " live" + String(c.deleted).leftPad(8) + " deleted")
            }
            say(lines.joined(separator: "\n"))
        }
    }
}

extension String {
    fileprivate func leftPad(_ width: Int) -> String {
        String(repeating: " ", count: max(0, width - count)) + self
    }
}
