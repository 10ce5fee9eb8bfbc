import Foundation

/// A config file of `KEY=VALUE` lines, the one format of both programs (also a valid systemd
/// `EnvironmentFile=`).
///
/// Blank lines and lines starting with `#` are ignored, `export KEY=VALUE` is accepted and values
/// may be wrapped in `"` or `'`. A line without `=` is a problem, reported with its number.
public struct SettingsFile: Sendable {
    /// One `KEY=VALUE` line.
    public struct Entry: Sendable, Equatable {
        public let key: String
        public let value: String
        /// 1-based.
        public let line: Int
    }

    public let path: String
    public let entries: [Entry]
    /// Lines that are not `KEY=VALUE`.
    public let problems: [SettingProblem]

    /// The directory relative paths in the file are resolved against.
    public var directory: String { URL(fileURLWithPath: path).deletingLastPathComponent().path }

    /// Reads and parses a file.
    public static func read(_ path: String) throws(SettingsError) -> SettingsFile {
        let handle = open(path, O_RDONLY | O_CLOEXEC)
        guard handle >= 0 else {
            throw SettingsError("cannot read the config file \(path): \(String(cString: strerror(errno)))")
        }
        close(handle)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError("cannot read the config file \(path)")
        }
        guard data.count <= 1 << 20 else {
            throw SettingsError("the config file \(path) is larger than 1 MiB")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SettingsError("the config file \(path) is not UTF-8 text")
        }
        return parse(text, path: path)
    }

    /// Parses the text of a file.
    public static func parse(_ text: String, path: String) -> SettingsFile {
        var entries: [Entry] = []
        var problems: [SettingProblem] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            let location = "\(path):\(index + 1)"
            guard let eq = line.firstIndex(of: "=") else {
                problems.append(SettingProblem(key: nil, "expected KEY=VALUE", at: location))
                continue
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                problems.append(SettingProblem(key: nil, "\"\(key)\" is not a setting name", at: location))
                continue
            }
            entries.append(Entry(key: key, value: value, line: index + 1))
        }
        return SettingsFile(path: path, entries: entries, problems: problems)
    }
}

/// A config file that cannot be read at all.
public struct SettingsError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
