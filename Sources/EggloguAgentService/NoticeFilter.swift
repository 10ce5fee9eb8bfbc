import EggloguProtocol

/// Decides whether a notice is worth a pull.
struct NoticeFilter: Sendable {
    enum Verdict: Sendable, Equatable {
        case pull
        case ignore(reason: String)
    }

    let farm: String
    let device: String

    /// - Parameter cursor: where this replica's last pull ended.
    func evaluate(_ payload: [UInt8], cursor: String?) -> Verdict {
        evaluated(payload, cursor: cursor).verdict
    }

    /// The verdict, and the notice when the payload was one.
    func evaluated(_ payload: [UInt8], cursor: String?) -> (verdict: Verdict, notice: Notice?) {
        guard payload.count <= Notice.maxBytes else { return (.ignore(reason: "oversized"), nil) }
        guard let notice = try? Notice(bytes: payload) else { return (.ignore(reason: "malformed"), nil) }
        return (evaluate(notice, cursor: cursor), notice)
    }

    private func evaluate(_ notice: Notice, cursor: String?) -> Verdict {
        if notice.farmID != farm { return .ignore(reason: "another farm") }
        if notice.deviceID == device { return .ignore(reason: "own notice") }
        if let announced = notice.cursor.flatMap(Cursor.init), let mine = cursor.flatMap(Cursor.init),
            announced.epoch == mine.epoch, announced.seq <= mine.seq
        {
            return .ignore(reason: "cursor already reached")
        }
        return .pull  // an unknown version still wakes us: pulling is always safe
    }
}
