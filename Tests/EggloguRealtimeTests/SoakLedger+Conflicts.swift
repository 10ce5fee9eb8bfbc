import EggloguCore

extension SoakLedger {
    /// Whether the final conflict archive holds what this run's history predicts, and nothing else.
    ///
    /// ``audit(_:)`` checks one direction: every acknowledged version that the winner's history
    /// never saw is archived. This checks the other: every entry is a conflict the history makes,
    /// whose winner never saw its loser and whose contents differ, whose loser
    /// is a version some writer acknowledged (or one of the writes that could not be read back),
    /// and it is resolved exactly when this run resolved it, as the last resolution chose.
    ///
    /// - Parameter archive: the final archive, resolved entries included.
    /// - Returns: one line per departure.
    func conflictProblems(_ archive: [ConflictEntry]) -> [String] {
        var problems: [String] = []
        var unknownLosers: [String: Int] = [:]
        for entry in archive {
            let (winner, loser) = (entry.winner.info, entry.loser.info)
            let name = "\(entry.recordID): conflict \(entry.id.prefix(8))"
            // The loser's vector may claim the winner (a "keep mine" on a device whose record has
            // since moved a generation on loses at once, though it is newer): what makes a conflict
            // is that the winner never saw the loser.
            if winner.vector.includes(origin: loser.origin, updatedAt: loser.updatedAt) {
                problems.append("\(name) archives a version its winner saw: loser \(describe(loser)) / winner \(describe(winner))")
            }
            if ConflictKind(winner: winner, loser: loser, concurrent: true) == nil {
                problems.append("\(name) archives a version whose content the winner holds: \(describe(loser))")
            }
            if !versions.contains(where: { $0.version.info.isSameVersion(as: loser) }) {
                unknownLosers[Self.writer(of: loser.origin), default: 0] += 1
            }
            switch (entry.resolution, resolutions[entry.id]) {
            case (let got?, let chosen?) where got != chosen:
                problems.append(
                    "\(name) was resolved \(got.choice.rawValue) by \(got.by), though the last resolution was \(chosen.choice.rawValue) by \(chosen.by)"
                )
            case (nil, _?):
                problems.append("\(name) is unresolved, though this run resolved it")
            case (let got?, nil):
                problems.append("\(name) was resolved \(got.choice.rawValue) by \(got.by), though this run never resolved it")
            default:
                break
            }
        }
        let ids = Set(archive.map(\.id))
        for id in resolutions.keys.sorted() where !ids.contains(id) {
            problems.append("conflict \(id.prefix(8)), which this run resolved, is gone from the archive")
        }
        for (writer, count) in unknownLosers.sorted(by: { $0.key < $1.key }) where count > unverified[writer, default: 0] {
            problems.append(
                "\(count) archived versions of \(writer) are no write of this run (only \(unverified[writer, default: 0]) could not be read back)"
            )
        }
        return problems
    }

    /// The soak writer behind an origin: a device id, or the user of a browser's `web:USER/SESSION`.
    static func writer(of origin: String) -> String {
        guard origin.hasPrefix("web:") else { return origin }
        return String(origin.dropFirst(4).prefix { $0 != "/" })
    }

    func describe(_ info: VersionInfo) -> String {
        "\(info.origin) \(info.updatedAt) gen \(info.generation)\(info.isDeleted ? " deleted" : "") hash \(info.contentHash.prefix(6)) vv "
            + info.vector.sortedEntries.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}
