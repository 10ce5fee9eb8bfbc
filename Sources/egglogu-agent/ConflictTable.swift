import EggloguCore
import EggloguJSON

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
