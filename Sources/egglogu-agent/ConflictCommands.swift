import ArgumentParser
import EggloguCore
import EggloguJSON
import EggloguStore

struct ConflictsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "List conflicts, showing the archived and the kept version side by side.")

    @OptionGroup var options: ReplicaOptions

    @Flag(help: "Include resolved conflicts.")
    var all = false

    @Flag(help: "Print the entries as JSON.")
    var json = false

    func run() throws {
        try reportingErrors {
            let replica = try options.open(create: false)
            let entries = try replica.conflicts(includeResolved: all)
            if json {
                say(JSONValue.array(entries.map { .object($0.record) }).jsonText(.pretty))
                return
            }
            if entries.isEmpty {
                say(all ? "no conflicts" : "no unresolved conflicts")
                return
            }
            for entry in entries {
                say(ConflictTable(entry).text)
            }
        }
    }
}

struct ResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Resolve a conflict: keep the archived version, or accept the kept one.",
        discussion: """
            --keep-mine republishes the archived version so it wins on every device (an archived deletion \
            deletes again). --accept-theirs drops it. Ids may be shortened to a unique prefix.
            """)

    @OptionGroup var options: ReplicaOptions

    @Argument(help: "The conflict id (from `conflicts`).")
    var id: String

    @Flag(name: .customLong("keep-mine"), help: "Republish the archived version.")
    var keepMine = false

    @Flag(name: .customLong("accept-theirs"), help: "Keep the current version and drop the archived one.")
    var acceptTheirs = false

    func validate() throws {
        guard keepMine != acceptTheirs else {
            throw ValidationError("give exactly one of --keep-mine and --accept-theirs")
        }
    }

    func run() throws {
        try reportingErrors {
            let replica = try options.open(create: false)
            let result = try replica.resolve(id, choice: keepMine ? .keepMine : .acceptTheirs)
            let entry = result.entry
            var line = "resolved \(entry.id) (\(entry.collection)/\(entry.recordID)): \(entry.resolution!.choice.rawValue)"
            if let version = result.republished {
                line += version.isDeleted ? ", deleted again" : ", archived version restored"
            }
            say(line)
        }
    }
}

/// A conflict entry as a side-by-side table of its two versions.
struct ConflictTable {
    let entry: ConflictEntry

    init(_ entry: ConflictEntry) {
        self.entry = entry
    }

    var text: String {
        let status = entry.resolution.map { "resolved: \($0.choice.rawValue) by \($0.by)" } ?? "unresolved"
        var lines = ["\(entry.id)  \(entry.collection)/\(entry.recordID)  \(entry.kind.rawValue)  (\(status))"]
        let loser = entry.loser
        let winner = entry.winner
        var fields: [String] = loser.content.keys
        for key in winner.content.keys where !fields.contains(key) { fields.append(key) }
        let fieldWidth = min(24, max(5, fields.map(\.count).max() ?? 5))
        let width = 44
        func cell(_ text: String) -> String {
            let clipped = text.count > width ? String(text.prefix(width - 1)) + "…" : text
            return clipped.padding(toLength: width, withPad: " ", startingAt: 0)
        }
        func heading(_ version: RecordVersion) -> String {
            "\(version.isDeleted ? "deleted" : "live"), \(version.info.origin) \(version.info.updatedAt.iso8601)"
        }
        lines.append("    " + "".padding(toLength: fieldWidth, withPad: " ", startingAt: 0) + "  "
            + cell("mine (archived)") + "  " + cell("theirs (kept)"))
        lines.append("    " + "".padding(toLength: fieldWidth, withPad: " ", startingAt: 0) + "  "
            + cell(heading(loser)) + "  " + cell(heading(winner)))
        for field in fields {
            let mine = loser.content[field].map { $0.jsonText() } ?? "—"
            let theirs = winner.content[field].map { $0.jsonText() } ?? "—"
            let marker = mine == theirs ? "  " : "* "
            lines.append("  " + marker + field.padding(toLength: fieldWidth, withPad: " ", startingAt: 0) + "  "
                + cell(mine) + "  " + cell(theirs))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
