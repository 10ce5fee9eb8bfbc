import Foundation

/// Reads typed values out of ``Settings``, collecting every problem instead of stopping at the
/// first, so `config check` and start-up report the same list, each by key.
public struct SettingsValidator: Sendable {
    public let settings: Settings
    public private(set) var problems: [SettingProblem]

    public init(_ settings: Settings) {
        self.settings = settings
        self.problems = settings.problems
    }

    /// Problems that stop the program (not broker-only ones, not warnings).
    public var fatalProblems: [SettingProblem] { problems.filter { $0.scope == .fatal } }

    /// Records a problem with a key, located where its value came from.
    public mutating func report(_ key: String, _ message: String, scope: SettingProblem.Scope = .fatal) {
        problems.append(SettingProblem(key: key, message, at: settings.value(key)?.location, scope: scope))
    }

    /// A value as given, or nil.
    public func text(_ key: String) -> String? { settings[key] }

    /// A value that must be present.
    public mutating func required(_ key: String, _ hint: String, scope: SettingProblem.Scope = .fatal) -> String? {
        guard let value = settings[key], !value.isEmpty else {
            report(key, "missing: \(hint)", scope: scope)
            return nil
        }
        return value
    }

    /// A number within `range` (decimals allowed), or the default when absent.
    public mutating func number(
        _ key: String,
        default value: Double,
        in range: ClosedRange<Double>,
        unit: String = "seconds",
        scope: SettingProblem.Scope = .fatal
    ) -> Double {
        guard let text = settings[key] else { return value }
        guard let number = Double(text), number.isFinite, range.contains(number) else {
            report(key, "\"\(text)\" is not a number of \(unit) from \(format(range.lowerBound)) to \(format(range.upperBound))", scope: scope)
            return value
        }
        return number
    }

    /// A TCP port (1–65535, or 0 when `allowZero`).
    public mutating func port(_ key: String, allowZero: Bool = false, scope: SettingProblem.Scope = .fatal) -> Int? {
        guard let text = settings[key] else { return nil }
        guard let port = Int(text), (allowZero ? 0 : 1)...65_535 ~= port else {
            report(key, "\"\(text)\" is not a port number (\(allowZero ? 0 : 1) to 65535)", scope: scope)
            return nil
        }
        return port
    }

    /// One of a fixed set of words.
    public mutating func choice(_ key: String, of options: [String], scope: SettingProblem.Scope = .fatal) -> String? {
        guard let text = settings[key] else { return nil }
        guard options.contains(text) else {
            report(key, "\"\(text)\" is not one of \(options.joined(separator: ", "))", scope: scope)
            return nil
        }
        return text
    }

    /// An `http` or `https` URL with a host.
    public mutating func url(_ key: String, scope: SettingProblem.Scope = .fatal) -> String? {
        guard let text = settings[key] else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            report(key, "\"\(text)\" is not an http:// or https:// URL", scope: scope)
            return nil
        }
        return text
    }

    /// An id of 1 to 64 letters, digits, `.`, `_` or `-` (farm and device ids).
    public mutating func identifier(_ key: String, scope: SettingProblem.Scope = .fatal) -> String? {
        guard let text = settings[key] else { return nil }
        guard Self.isIdentifier(text) else {
            report(key, "\"\(text)\" is not 1 to 64 letters, digits, '.', '_' or '-'", scope: scope)
            return nil
        }
        return text
    }

    /// Whether `text` is 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
    public static func isIdentifier(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { $0.isASCIILetterOrDigit || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// A file this process can read.
    public mutating func readableFile(_ key: String, scope: SettingProblem.Scope = .fatal) -> String? {
        guard let path = settings[key] else { return nil }
        if let problem = FileCheck.readable(path) {
            report(key, problem, scope: scope)
            return nil
        }
        return path
    }

    /// A readable file holding a secret: neither group nor others may read or write it.
    public mutating func secretFile(_ key: String, scope: SettingProblem.Scope = .fatal) -> String? {
        guard let path = readableFile(key, scope: scope) else { return nil }
        if let problem = FileCheck.private(path) {
            report(key, problem, scope: scope)
            return nil
        }
        return path
    }

    /// A file this process may create or replace: its directory exists and is writable.
    public mutating func writablePath(_ key: String, scope: SettingProblem.Scope = .fatal) -> String? {
        guard let path = settings[key] else { return nil }
        if let problem = FileCheck.writable(path) {
            report(key, problem, scope: scope)
            return nil
        }
        return path
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

extension UInt8 {
    fileprivate var isASCIILetterOrDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self)
    }
}
