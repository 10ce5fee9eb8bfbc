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
        guard payload.count <= Notice.maxBytes else { return .ignore(reason: "oversized") }
        let notice: Notice
        do {
            notice = try Notice(bytes: payload)
        } catch {
            return .ignore(reason: "malformed")
        }
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
