import EggloguFixtures
import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// Every bad blob gets a non-zero exit and one clear line, and the replica stays exactly as it was.
@Suite(.ownThreads) struct BadImportTests {
    let dir = TemporaryDirectory()
    var replica: String { dir.file("replica.sqlite") }

    func agent(_ arguments: [String], stdin: String? = nil) throws -> Subprocess.Output {
        try Subprocess.run("egglogu-agent", arguments, stdin: stdin, in: dir)
    }

    static let cases: [(name: String, bytes: @Sendable () throws -> [UInt8], code: Int32, message: String)] = [
        ("malformed", { Array(#"{"flocks": [}"#.utf8) }, 65, "malformed JSON: unexpected '}' where a value was expected at line 1, column 13"),
        ("truncated", { Array(SmallFarm.bytes.prefix(5_000)) }, 65, "truncated"),
        ("no id", { Array(#"{"flocks":[{"id":"a"},{"name":"b"}]}"#.utf8) }, 65, "$.flocks[1]: record has no \"id\" (collection flocks)"),
        ("non-object", { Array(#"{"clients":[{"id":"a"},42]}"#.utf8) }, 65, "$.clients[1]: number in collection clients"),
        ("known collection loses ids", { Array(#"{"flocks":[{"name":"b"}]}"#.utf8) }, 65, "$.flocks[0]"),
        (
            "bad timestamp", { Array(#"{"flocks":[{"id":"a","_updatedAt":"next tuesday"}]}"#.utf8) }, 65,
            "$.flocks[0]: _updatedAt \"next tuesday\" is not an ISO-8601"
        ),
        ("deep nesting", { [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000) }, 65, "nesting deeper than 256 levels at line 1, column 257"),
        ("not an object", { Array("[1,2,3]".utf8) }, 65, "$: an egglogu_data blob must be a JSON object"),
        ("binary", { [0xFF, 0xD8, 0xFF, 0xE0, 0x00] }, 65, "malformed JSON"),
        ("empty", { [] }, 65, "unexpected end of input"),
        ("reserved key", { Array(#"{"_syncCursor":1}"#.utf8) }, 65, "$._syncCursor: top-level names starting with _sync are reserved"),
        ("shape change", { Array(#"{"flocks":"gone"}"#.utf8) }, 65, "$.flocks: flocks was a collection and is now a string"),
        ("bad archive", { Array(#"{"_conflictArchive":[{"id":"x"}]}"#.utf8) }, 65, "$._conflictArchive[0]"),
    ]

    @Test(arguments: 0..<cases.count)
    func aBadBlobLeavesTheReplicaExactlyAsItWas(index: Int) throws {
        let bad = Self.cases[index]
        #expect(try agent(["import", "--replica", replica, SmallFarm.write(in: dir)]).status == 0)
        let before = try ReplicaLab.fingerprint(path: replica)
        let file = dir.file("bad.json")
        try Data(try bad.bytes()).write(to: URL(fileURLWithPath: file))
        let result = try agent(["import", "--replica", replica, file])
        #expect(result.status == bad.code, "\(bad.name)")
        #expect(result.stderr.contains(bad.message), "\(bad.name): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(bad.name) printed more than one line")
        #expect(result.stdout.isEmpty)
        #expect(try ReplicaLab.fingerprint(path: replica) == before, "\(bad.name) changed the replica")
    }

    @Test func aHundredMegabyteFileIsRefusedBeforeItIsRead() throws {
        #expect(try agent(["import", "--replica", replica, SmallFarm.write(in: dir)]).status == 0)
        let before = try ReplicaLab.fingerprint(path: replica)
        let file = dir.file("huge.json")
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: file))
        try handle.truncate(atOffset: 100 << 20)
        try handle.close()
        let result = try agent(["import", "--replica", replica, file])
        #expect(result.status == 65)
        #expect(result.stderr == "egglogu-agent: \(file) is 100.0 MB, larger than the import limit of 32 MB (raise it with --max-size)\n")
        #expect(try ReplicaLab.fingerprint(path: replica) == before)
        let piped = try agent(["import", "--replica", replica, "--max-size", "1", "-"], stdin: String(repeating: " ", count: 2 << 20))
        #expect(piped.status == 65)
        #expect(piped.stderr.contains("standard input is larger than the import limit of 1 MB"))
    }

    @Test func aMissingFileIsNoInput() throws {
        let result = try agent(["import", "--replica", replica, dir.file("absent.json")])
        #expect(result.status == 66)
        #expect(!FileManager.default.fileExists(atPath: replica))
    }
}
