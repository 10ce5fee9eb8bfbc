import EggloguSettings
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The KEY=value file format both programs read, and how the layers combine.
@Suite(.ownThreads) struct SettingsTests {
    let schema = SettingsSchema(
        prefix: "APP_",
        keys: [.init("APP_NAME", "a name"), .init("APP_FILE", path: true, "a file"), .init("APP_PORT", "a port")]
    )

    @Test func theFileFormatTakesCommentsQuotesAndReportsBadLinesWithTheirNumber() {
        let file = SettingsFile.parse(
            """
            # a comment

            APP_NAME = "farm gateway"
            export APP_PORT=8080
            APP_FILE='token'
            not a setting
            """,
            path: "/etc/app/app.conf"
        )
        #expect(file.entries.map(\.key) == ["APP_NAME", "APP_PORT", "APP_FILE"])
        #expect(file.entries.first?.value == "farm gateway")
        #expect(file.problems.count == 1)
        #expect(file.problems.first?.location == "/etc/app/app.conf:6")
    }

    @Test func theEnvironmentOverridesTheFileAndFlagsOverrideBoth() {
        let file = SettingsFile.parse("APP_NAME=file\nAPP_PORT=1\nAPP_FILE=secret\nAPP_TYPO=1\nOTHER=ignored", path: "/etc/app/app.conf")
        var settings = Settings(schema: schema, file: file, environment: ["APP_PORT": "2", "APP_UNKNOWN": "x", "HOME": "/root"])
        settings["APP_NAME"] = "flag"
        #expect(settings["APP_NAME"] == "flag")
        #expect(settings["APP_PORT"] == "2")
        #expect(settings.value("APP_PORT")?.location == "environment")
        #expect(settings["APP_FILE"] == "/etc/app/secret", "relative paths in a file are relative to it")
        #expect(settings.problems.map(\.key) == ["APP_TYPO"], "unknown keys of the file are reported; the shared environment is not")
        #expect(settings.problems.first?.scope == .warning)
    }

    @Test func theValidatorNamesEveryProblem() throws {
        let directory = TemporaryDirectory()
        let secret = directory.file("secret")
        try "s".write(toFile: secret, atomically: true, encoding: .utf8)
        chmod(secret, 0o644)
        let settings = Settings(schema: schema, file: nil, environment: ["APP_PORT": "99999", "APP_FILE": secret])
        var check = SettingsValidator(settings)
        #expect(check.required("APP_NAME", "a name") == nil)
        #expect(check.port("APP_PORT") == nil)
        #expect(check.secretFile("APP_FILE") == nil)
        #expect(check.problems.map(\.key) == ["APP_NAME", "APP_PORT", "APP_FILE"])
        #expect(check.problems.last?.message.contains("chmod 600") == true)
        chmod(secret, 0o600)
        var again = SettingsValidator(settings)
        #expect(again.secretFile("APP_FILE") == secret)
    }

    @Test func aHugeOrMissingFileIsAClearError() throws {
        let directory = TemporaryDirectory()
        #expect(throws: SettingsError.self) { try SettingsFile.read(directory.file("missing.conf")) }
        let huge = directory.file("huge.conf")
        try String(repeating: "# padding\n", count: 200_000).write(toFile: huge, atomically: true, encoding: .utf8)
        #expect(throws: SettingsError.self) { try SettingsFile.read(huge) }
    }
}
