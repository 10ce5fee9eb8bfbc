/// A position in a farm's change sequence on one server database: `<epoch>:<seq>`.
///
/// `seq` is assigned by the server inside its write transaction; `epoch`
/// identifies the database and changes when it is restored from a backup.
/// Two cursors compare only within one epoch. Cursors never come from client clocks.
public struct Cursor: Sendable, Hashable, CustomStringConvertible {
    public let epoch: String
    public let seq: Int64

    public init(epoch: String, seq: Int64) {
        self.epoch = epoch
        self.seq = seq
    }

    /// Parses `<epoch>:<seq>`; `nil` if the text is not a cursor.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let epoch = String(text[..<colon])
        guard !epoch.isEmpty, epoch.utf8.count <= 64,
            epoch.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }),
            let seq = Int64(text[text.index(after: colon)...]), seq >= 0
        else { return nil }
        self.init(epoch: epoch, seq: seq)
    }

    public var description: String { "\(epoch):\(seq)" }
}
