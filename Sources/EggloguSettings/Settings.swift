import Foundation

/// A program's settings, layered: a config file, then the environment, then command-line flags,
/// each overriding the one before.
///
/// Only keys starting with the schema's prefix are read; unknown ones become problems so a typo
/// never silently falls back to a default. Path-valued keys from the file are relative to its
/// directory.
public struct Settings: Sendable {
    /// Where a value came from, in increasing precedence.
    public enum Source: Int, Sendable, Comparable {
        case file, environment, flag

        public static func < (lhs: Source, rhs: Source) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// A value and its origin.
    public struct Value: Sendable, Equatable {
        public let text: String
        public let source: Source
        /// `file:line`, `environment` or `flag`.
        public let location: String
    }

    public let schema: SettingsSchema
    /// The config file these settings were read from, if any.
    public let file: SettingsFile?
    private var values: [String: Value] = [:]
    /// Syntax errors and unknown keys.
    public private(set) var problems: [SettingProblem] = []

    public init(schema: SettingsSchema, file: SettingsFile?, environment: [String: String]) {
        self.schema = schema
        self.file = file
        if let file {
            problems += file.problems
            for entry in file.entries where entry.key.hasPrefix(schema.prefix) {
                let location = "\(file.path):\(entry.line)"
                guard let key = schema.keys[entry.key] else {
                    if !schema.excludedPrefixes.contains(where: entry.key.hasPrefix) {
                        problems.append(SettingProblem(key: entry.key, "unknown setting, ignored", at: location, scope: .warning))
                    }
                    continue
                }
                var text = entry.value
                if key.isPath, !text.isEmpty, !text.hasPrefix("/") {
                    text = file.directory + "/" + text
                }
                values[entry.key] = Value(text: text, source: .file, location: location)
            }
        }
        // The environment is shared with other programs: only known keys are read from it.
        for (name, text) in environment where schema.keys[name] != nil && !text.isEmpty {
            values[name] = Value(text: text, source: .environment, location: "environment")
        }
    }

    /// A setting's text; assigning one records it as given by a flag (nil leaves it alone).
    public subscript(key: String) -> String? {
        get { values[key]?.text }
        set {
            guard let newValue else { return }
            values[key] = Value(text: newValue, source: .flag, location: "flag")
        }
    }

    /// A setting with its origin.
    public func value(_ key: String) -> Value? { values[key] }

    /// Removes a setting (a flag that turns something off).
    public mutating func remove(_ key: String) {
        values[key] = nil
    }
}

/// The keys a program knows.
public struct SettingsSchema: Sendable {
    /// One known key.
    public struct Key: Sendable {
        public let name: String
        /// Relative values from a config file are resolved against its directory.
        public let isPath: Bool
        /// One line for `config keys` and the docs.
        public let summary: String

        public init(_ name: String, path: Bool = false, _ summary: String) {
            self.name = name
            self.isPath = path
            self.summary = summary
        }
    }

    public let prefix: String
    public let keys: [String: Key]
    /// Keys in the order given, for listings.
    public let ordered: [Key]
    /// Longer prefixes that belong to another program (the server's `EGGLOGU_SYNC_` in an agent's file).
    public let excludedPrefixes: [String]

    public init(prefix: String, keys: [Key], excludedPrefixes: [String] = []) {
        self.prefix = prefix
        self.ordered = keys
        self.keys = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })
        self.excludedPrefixes = excludedPrefixes
    }
}

extension Settings {
    /// Which config file applies: the flag, else the file `variable` names (empty: none), else
    /// `installed` when it exists and `useInstalled` (nothing else was named on the command line).
    public static func configFile(
        flag: String?,
        variable: String,
        installed: String,
        useInstalled: Bool,
        environment: [String: String]
    ) -> String? {
        if let flag { return flag }
        if let named = environment[variable] { return named.isEmpty ? nil : named }
        if useInstalled, FileManager.default.fileExists(atPath: installed) { return installed }
        return nil
    }

    /// Reads `configFile` (if any) and layers the environment over it.
    public static func load(schema: SettingsSchema, configFile: String?, environment: [String: String]) throws(SettingsError) -> Settings {
        Settings(schema: schema, file: try configFile.map { path throws(SettingsError) in try SettingsFile.read(path) }, environment: environment)
    }
}
