import EggloguProtocol

/// Decides what a notice asks of a device: nothing, a pull, or applying the changes it carries.
public struct NoticeFilter: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// Its changes start at this replica's cursor: apply them instead of pulling.
        case apply
        case pull
        case ignore(reason: String)
    }

    public let farm: String
    public let device: String

    public init(farm: String, device: String) {
        self.farm = farm
        self.device = device
    }

    /// - Parameter cursor: where this replica's last pull ended.
    public func evaluate(_ payload: [UInt8], cursor: String?) -> Verdict {
        evaluated(payload, cursor: cursor).verdict
    }

    /// The verdict, and the notice when the payload was one.
    public func evaluated(_ payload: [UInt8], cursor: String?) -> (verdict: Verdict, notice: Notice?) {
        guard payload.count <= Notice.maxBytes else { return (.ignore(reason: "oversized"), nil) }
        guard let notice = try? Notice(bytes: payload) else { return (.ignore(reason: "malformed"), nil) }
        return (evaluate(notice, cursor: cursor), notice)
    }

    /// The verdict on a notice already read.
    public func evaluate(_ notice: Notice, cursor: String?) -> Verdict {
        if notice.farmID != farm { return .ignore(reason: "another farm") }
        if notice.deviceID == device { return .ignore(reason: "own notice") }
        let announced = notice.cursor.flatMap(Cursor.init)
        if let announced, let mine = cursor.flatMap(Cursor.init), announced.epoch == mine.epoch, announced.seq <= mine.seq {
            return .ignore(reason: "cursor already reached")
        }
        // Inline changes apply only on continuity, within one epoch, moving forward.
        if notice.changes != nil, let cursor, notice.before == cursor, let announced, let before = notice.before.flatMap(Cursor.init),
            announced.epoch == before.epoch, announced.seq > before.seq, notice.version == 1
        {
            return .apply
        }
        return .pull  // an unknown version still wakes us: pulling is always safe
    }
}
