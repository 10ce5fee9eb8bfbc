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
        let diff = entry.fieldDiff
        let fieldWidth = min(24, max(5, diff.map(\.field.count).max() ?? 5))
        let width = 44
        func cell(_ text: String) -> String {
            let clipped = text.count > width ? String(text.prefix(width - 1)) + "…" : text
            return clipped.padding(toLength: width, withPad: " ", startingAt: 0)
        }
        func heading(_ version: RecordVersion) -> String {
            "\(version.isDeleted ? "deleted" : "live"), \(version.info.origin) \(version.info.updatedAt.iso8601)"
        }
        lines.append(
            "    " + "".padding(toLength: fieldWidth, withPad: " ", startingAt: 0) + "  "
                + cell("mine (archived)") + "  " + cell("theirs (kept)")
        )
        lines.append(
            "    " + "".padding(toLength: fieldWidth, withPad: " ", startingAt: 0) + "  "
                + cell(heading(loser)) + "  " + cell(heading(winner))
        )
        for row in diff {
            let mine = row.mine.map { $0.jsonText() } ?? "—"
            let theirs = row.theirs.map { $0.jsonText() } ?? "—"
            let marker = row.differs ? "* " : "  "
            lines.append(
                "  " + marker + row.field.padding(toLength: fieldWidth, withPad: " ", startingAt: 0) + "  "
                    + cell(mine) + "  " + cell(theirs)
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
