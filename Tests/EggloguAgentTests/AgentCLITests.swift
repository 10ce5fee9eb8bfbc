import EggloguCore
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The `egglogu-agent` binary, run as a user would run it.
@Suite(.ownThreads) struct AgentCLITests {
    let dir = TemporaryDirectory()
    var replica: String { dir.file("replica.sqlite") }

    func agent(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> Subprocess.Output {
        try Subprocess.run("egglogu-agent", arguments, stdin: stdin, environment: environment, in: dir)
    }

    /// The generated farm always; the shared sample when `../shared` is beside the checkout.
    static let farms = ["generated"] + (SharedData.isAvailable ? ["shared sample"] : [])

    @Test(arguments: farms)
    func importThenExportGivesBackTheFarm(farm: String) throws {
        let file = farm == "generated" ? try SmallFarm.write(in: dir) : SharedData.samplePath
        let original = try JSONParser().parse([UInt8](Data(contentsOf: URL(fileURLWithPath: file))))
        let imported = try agent(["import", "--replica", replica, "--json", file])
        #expect(imported.status == 0)
        let report = try JSONParser().parse(imported.stdout).objectValue!
        let records = try #require(report["records"]?.numberValue?.intValue)
        #expect(records > 60)
        #expect(report["added"]?.numberValue?.intValue == records)
        let out = dir.file("out.json")
        #expect(try agent(["export", "--replica", replica, "-o", out]).status == 0)
        let exported = try JSONParser().parse([UInt8](Data(contentsOf: URL(fileURLWithPath: out))))
        #expect(exported.withoutSyncMetadata == original)
        #expect(exported.objectValue?.keys == original.objectValue?.keys)
        let again = try agent(["import", "--replica", replica, file])
        #expect(again.stdout.contains("\(records) records (0 added, 0 updated, \(records) unchanged, 0 stale), 0 deleted"))
    }

    /// Commands started together on a replica that does not exist yet (the service starting while
    /// a status command polls) all open it: none fails with "locked by another process".
    @Test func commandsStartedTogetherOnANewReplicaAllSucceed() async throws {
        let runs = try await withThrowingTaskGroup(of: Subprocess.Output.self) { group in
            for n in 0..<8 {
                group.addTask {
                    try await offPool {
                        try agent(["put", "--replica", replica, "--device-id", "gw-1", "flocks", #"{"id":"f\#(n)","n":\#(n)}"#])
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for run in runs { #expect(run.status == 0, "\(run.stderr)") }
        let listed = try JSONParser().parse(try agent(["get", "--replica", replica, "flocks"]).stdout)
        #expect(listed.arrayValue?.count == 8)
    }

    @Test func putGetDeleteAndStatus() throws {
        let put = try agent(["put", "--replica", replica, "--device-id", "gw-1", "flocks", #"{"name":"Lote Z","count":10}"#])
        #expect(put.status == 0)
        let id = try #require(put.stdout.split(separator: "/").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        let got = try JSONParser().parse(try agent(["get", "--replica", replica, "flocks", id]).stdout)
        #expect(got.objectValue?["name"] == "Lote Z")
        #expect(got.objectValue?["_syncOrigin"] == "gw-1")
        let piped = try agent(["put", "--replica", replica, "flocks", "-"], stdin: #"{"id":"\#(id)","name":"Lote Z2"}"#)
        #expect(piped.stdout.hasPrefix("updated flocks/\(id)"))
        #expect(try agent(["delete", "--replica", replica, "flocks", id]).stdout.hasPrefix("deleted"))
        #expect(try agent(["get", "--replica", replica, "flocks"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        let status = try JSONParser().parse(try agent(["status", "--replica", replica, "--json"]).stdout).objectValue!
        #expect(status["schemaVersion"] == 1)
        #expect(status["deviceId"] == "gw-1")
        #expect(status["unpushed"] == 2, "the record and the layout that now has flocks")
        #expect(status["collections"]?.objectValue?["flocks"] == ["live": 0, "deleted": 1])
        #expect(status["conflicts"] == ["unresolved": 0, "resolved": 0])
        let text = try agent(["status", "--replica", replica])
        #expect(text.stdout.contains("unpushed   2 changes"))
        let missing = try agent(["get", "--replica", replica, "flocks", "nope"])
        #expect(missing.status == 66)
        #expect(missing.stderr == "egglogu-agent: no record flocks/nope\n")
    }

    @Test func conflictsAreShownSideBySideAndResolvedOnce() async throws {
        do {
            let lab = ReplicaLab()
            let a = try await lab.open("a")
            _ = try await a.importBlob(JSONValue.object(["flocks": [["id": "f1", "count": 1, "name": "<b>A</b>"]]]).serialized())
            var configuration = ReplicaConfiguration()
            configuration.deviceID = "gw-2"
            let b = try await Replica.open(path: replica, configuration: configuration)
            try await DirectSync.pull(from: a, into: b)
            _ = try await b.importBlob(JSONValue.object(["flocks": [["id": "f1", "count": 5, "name": "<b>A</b>"]]]).serialized())
        }
        let listed = try agent(["conflicts", "--replica", replica])
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("flocks/f1  concurrent-edit  (unresolved)"))
        #expect(listed.stdout.contains("* count"))
        #expect(listed.stdout.contains("  name"))
        let entries = try JSONParser().parse(try agent(["conflicts", "--replica", replica, "--json"]).stdout).arrayValue!
        let id = try #require(entries.first?.objectValue?["id"]?.stringValue)
        #expect(try agent(["resolve", "--replica", replica, id]).status == 64)
        #expect(try agent(["resolve", "--replica", replica, id, "--keep-mine", "--accept-theirs"]).status == 64)
        let resolved = try agent(["resolve", "--replica", replica, String(id.prefix(6)), "--keep-mine"])
        #expect(resolved.status == 0)
        #expect(resolved.stdout.contains("keep-mine, archived version restored"))
        #expect(try JSONParser().parse(try agent(["get", "--replica", replica, "flocks", "f1"]).stdout).objectValue?["count"] == 5)
        let again = try agent(["resolve", "--replica", replica, id, "--accept-theirs"])
        #expect(again.status == 65)
        #expect(again.stderr.contains("resolved already"))
        #expect(try agent(["conflicts", "--replica", replica]).stdout == "no unresolved conflicts\n")
        #expect(try agent(["resolve", "--replica", replica, "0000000", "--keep-mine"]).status == 66)
    }

    @Test func settingsComeFromTheFileThenTheEnvironmentThenFlags() throws {
        try FileManager.default.createDirectory(atPath: dir.file("etc"), withIntermediateDirectories: true)
        let config = dir.file("etc/agent.conf")
        try """
        # gateway settings
        EGGLOGU_REPLICA=replica-from-file.sqlite
        export EGGLOGU_DEVICE_ID="from-file"
        EGGLOGU_FARM_ID='farm-9'
        EGGLOGU_SOMETHING_NEW=1
        OTHER=ignored
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let fromFile = try agent(["put", "--config", config, "flocks", #"{"id":"a"}"#])
        #expect(fromFile.status == 0)
        #expect(fromFile.stderr.contains("EGGLOGU_SOMETHING_NEW: unknown setting, ignored"))
        #expect(FileManager.default.fileExists(atPath: dir.file("etc/replica-from-file.sqlite")))
        let status = try JSONParser().parse(try agent(["status", "--config", config, "--json"]).stdout).objectValue!
        #expect(status["deviceId"] == "from-file")
        #expect(status["farmId"] == "farm-9")

        let env = ["EGGLOGU_REPLICA": dir.file("env.sqlite"), "EGGLOGU_DEVICE_ID": "from-env"]
        #expect(try agent(["put", "--config", config, "flocks", #"{"id":"a"}"#], environment: env).status == 0)
        let envStatus = try JSONParser().parse(try agent(["status", "--json"], environment: env).stdout).objectValue!
        #expect(envStatus["deviceId"] == "from-env")

        let flag = dir.file("flag.sqlite")
        #expect(
            try agent(["put", "--config", config, "--replica", flag, "--device-id", "from-flag", "flocks", #"{"id":"a"}"#], environment: env).status
                == 0
        )
        #expect(try JSONParser().parse(try agent(["status", "--replica", flag, "--json"]).stdout).objectValue?["deviceId"] == "from-flag")

        let mismatch = try agent(["status", "--replica", flag, "--device-id", "someone-else"])
        #expect(mismatch.status == 78)
    }

    @Test func usageAndEnvironmentErrorsUseSysexits() throws {
        #expect(try agent(["status"]).status == 64)
        #expect(try agent(["frobnicate"]).status == 64)
        #expect(try agent(["status", "--replica", dir.file("missing.sqlite")]).status == 66)
        #expect(try agent(["put", "--replica", replica, "flocks", "{not json"]).status == 65)
        #expect(try agent(["put", "--replica", replica, "_syncValues", "{}"]).status == 65)
        #expect(try agent(["put", "--replica", dir.file("no/such/dir/r.sqlite"), "flocks", "{}"]).status == 73)
        _ = try agent(["put", "--replica", replica, "flocks", "{}"])
        #expect(try agent(["export", "--replica", replica, "-o", dir.file("no/such/dir/out.json")]).status == 73)
        #expect(try agent(["status", "--config", dir.file("missing.conf")]).status == 78)
        #expect(try agent(["delete", "--replica", replica, "auditLog", "x"]).status == 65)
    }

    /// `export -o` replaces an existing file whole and leaves nothing beside it, even when it fails.
    @Test func exportReplacesTheFileWhole() throws {
        _ = try agent(["put", "--replica", replica, "flocks", #"{"id":"f1","name":"A"}"#])
        let outDir = dir.file("exports")
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let out = outDir + "/farm.json"
        try Data("old".utf8).write(to: URL(fileURLWithPath: out))
        #expect(try agent(["export", "--replica", replica, "-o", out]).status == 0)
        let exported = try JSONParser().parse([UInt8](Data(contentsOf: URL(fileURLWithPath: out))))
        #expect(exported.objectValue?["flocks"]?.arrayValue?.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outDir) == ["farm.json"])

        // A directory cannot be replaced by a file: the export fails and cleans up after itself.
        let refused = try agent(["export", "--replica", replica, "-o", outDir])
        #expect(refused.status == 73)
        #expect(refused.stderr.contains("cannot write \(outDir)"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: outDir) == ["farm.json"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasSuffix(".tmp") })
    }

    /// One id rule everywhere: a NUL or another control character, or more than 512 bytes, is a bad id.
    @Test func badIdsAreRefusedWithTheRuleTheyBreak() throws {
        #expect(try agent(["put", "--replica", replica, "flocks", #"{"id":"k","name":"kept"}"#]).status == 0)
        let nul = try agent(["put", "--replica", replica, "flocks", #"{"id":"k\u0000x","name":"overwrite?"}"#])
        #expect(nul.status == 65 && nul.stderr.contains("control character U+0000"), "\(nul.stderr)")
        let long = try agent(["put", "--replica", replica, "flocks", #"{"id":""# + String(repeating: "x", count: 513) + #""}"#])
        #expect(long.status == 65 && long.stderr.contains("longer than 512 bytes"), "\(long.stderr)")
        #expect(try agent(["put", "--replica", replica, "<b>x</b>", #"{"id":"a"}"#]).status == 65)
        #expect(try agent(["put", "--replica", replica, "__proto__", #"{"id":"a"}"#]).status == 65)
        let blob = dir.file("nul-id.json")
        try Data(#"{"flocks":[{"id":"k","name":"kept"},{"id":"k\u0000x","name":"overwrite?"}]}"#.utf8).write(to: URL(fileURLWithPath: blob))
        let imported = try agent(["import", "--replica", replica, blob])
        #expect(
            imported.status == 65 && imported.stderr.contains("$.flocks[1]: record id contains the control character U+0000"),
            "\(imported.stderr)"
        )
        let audit = try agent(["put", "--replica", replica, "auditLog", #"{"id":"a\u0001b","action":"x"}"#])
        #expect(audit.status == 65 && audit.stderr.contains("control character U+0001"), "audit entries follow the rule too: \(audit.stderr)")
        let auditBlob = dir.file("audit-id.json")
        try Data(#"{"auditLog":[{"id":"a\u0000","action":"x"}]}"#.utf8).write(to: URL(fileURLWithPath: auditBlob))
        let auditImport = try agent(["import", "--replica", replica, auditBlob])
        #expect(
            auditImport.status == 65 && auditImport.stderr.contains("$.auditLog[0]: record id contains the control character U+0000"),
            "\(auditImport.stderr)"
        )
        #expect(try agent(["get", "--replica", replica, "flocks", "k"]).stdout.contains("kept"))
    }
}
