import Foundation
import Logging

/// A `LogHandler` for services: one line per event on stderr, always with its level.
///
/// Under journald (stderr is the stream named by `$JOURNAL_STREAM`) a line carries a `<N>`
/// priority prefix and no timestamp, since the journal adds its own; elsewhere it starts with an
/// ISO-8601 UTC timestamp. Newlines are escaped so one event stays one line, metadata whose key
/// names a secret is redacted, and anything shaped like a JWT is masked wherever it appears.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String
    private let journal: Bool

    public init(label: String, journal: Bool = JournalLogHandler.stderrIsJournal()) {
        self.label = label
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = render(level: event.level, message: event.message.description, metadata: merged)
        Self.write(line)
    }

    /// The line for an event, without the newline.
    func render(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line = journal ? "<\(Self.priority(level))>" : Self.timestamp() + " "
        line += "\(level.rawValue) "
        if !journal { line += "\(label): " }
        line += LogRedaction.clean(message)
        for key in metadata.keys.sorted() {
            let value = LogRedaction.isSecretKey(key) ? "<redacted>" : LogRedaction.clean("\(metadata[key]!)")
            let quoted =
                value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" })
                ? "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : value
            line += " \(key)=\(quoted)"
        }
        return line
    }

    /// Whether stderr is connected to journald (systemd sets `JOURNAL_STREAM=device:inode`).
    public static func stderrIsJournal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let stream = environment["JOURNAL_STREAM"] else { return false }
        let parts = stream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(STDERR_FILENO, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// syslog(3) priorities, which journald reads from the `<N>` prefix.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900,
            Int(parts.tm_mon) + 1,
            Int(parts.tm_mday),
            Int(parts.tm_hour),
            Int(parts.tm_min),
            Int(parts.tm_sec),
            Int(now.tv_nsec / 1_000_000)
        )
    }

    /// One `write(2)` per line, so lines from several threads never interleave.
    private static func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(STDERR_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return }
                offset += n
            }
        }
    }
}
