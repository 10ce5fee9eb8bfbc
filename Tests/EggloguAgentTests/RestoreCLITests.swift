import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// `egglogu-agent deleted` and `egglogu-agent restore`: undo from a shell.
@Suite(.ownThreads) struct RestoreCLITests {
    let dir = TemporaryDirectory()
    var replica: String { dir.file("replica.sqlite") }

    func agent(_ arguments: [String]) throws -> Subprocess.Output {
        try Subprocess.run("egglogu-agent", arguments, in: dir)
    }

    @Test func deletedListsWhatRestoreBringsBack() throws {
        #expect(try agent(["put", "--replica", replica, "--device-id", "gw-1", "flocks", #"{"id":"f1","name":"Barn 1"}"#]).status == 0)
        #expect(try agent(["put", "--replica", replica, "settings", #"{"lang":"es","theme":"dark"}"#]).status == 0)
        #expect(try agent(["delete", "--replica", replica, "flocks", "f1"]).status == 0)
        #expect(try agent(["delete", "--replica", replica, "settings", "theme"]).status == 0)

        let listed = try agent(["deleted", "--replica", replica, "--since", "1h"])
        #expect(listed.status == 0)
        let lines = listed.stdout.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].contains("settings theme") && lines[1].contains("flocks f1") && lines[1].contains("gw-1"))
        let json = try JSONParser().parse(try agent(["deleted", "--replica", replica, "--json"]).stdout).arrayValue ?? []
        #expect(json.first?.objectValue?["record"]?.objectValue?["value"] == "dark")

        let restored = try agent(["restore", "--replica", replica, "flocks", "f1"])
        #expect(restored.status == 0 && restored.stdout == "restored flocks/f1\n")
        #expect(try agent(["restore", "--replica", replica, "flocks", "f1"]).stdout == "already-live flocks/f1\n")
        let record = try JSONParser().parse(try agent(["get", "--replica", replica, "flocks", "f1"]).stdout).objectValue
        #expect(record?["name"] == "Barn 1" && record?["_deletedAt"] == .null)
        #expect(try agent(["restore", "--replica", replica, "settings", "theme"]).status == 0)
        #expect(try agent(["deleted", "--replica", replica]).stdout == "nothing deleted\n")
    }

    @Test func badArgumentsGetClearErrorsAndExitCodes() throws {
        #expect(try agent(["put", "--replica", replica, "flocks", #"{"id":"f1"}"#]).status == 0)
        let since = try agent(["deleted", "--replica", replica, "--since", "yesterday"])
        #expect(since.status == 64 && since.stderr.contains("--since"))
        let unknown = try agent(["restore", "--replica", replica, "flocks", "nope"])
        #expect(unknown.status == 66 && unknown.stderr == "egglogu-agent: no record flocks/nope\n")
        let noID = try agent(["restore", "--replica", replica, "flocks"])
        #expect(noID.status == 65)
        let noReplica = try agent(["deleted", "--replica", dir.file("missing.sqlite")])
        #expect(noReplica.status == 66)
    }
}
