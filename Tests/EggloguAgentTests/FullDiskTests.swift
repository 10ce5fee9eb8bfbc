import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// The agent's CLI on a real file system filled to the last byte: reads still work from the
/// replica's main file, `status` shows what it can and exits 74, writes fail with a sentence, and
/// once there is room again nothing is missing.
@Suite(.ownThreads) struct FullDiskTests {
    let dir = TemporaryDirectory()

    func agent(_ arguments: [String]) throws -> Subprocess.Output {
        try Subprocess.run("egglogu-agent", arguments, in: dir)
    }

    @Test(.enabled(if: SmallDisk.isAvailable, "needs root to mount a small tmpfs that can be filled"))
    func statusShowsWhatItCanAndReadsWork() throws {
        let disk = try SmallDisk(megabytes: 4)
        let replica = disk.file("replica.sqlite")
        #expect(try agent(["import", "--replica", replica, "--device-id", "gw-1", try SmallFarm.write(in: dir)]).status == 0)
        let before = try agent(["export", "--replica", replica]).stdout
        let live = try JSONParser().parse(try agent(["status", "--replica", replica, "--json"]).stdout).objectValue?["records"]?.objectValue?["live"]
        #expect(try agent(["status", "--replica", replica]).stdout.contains("disk       "))
        // Reads leave SQLite's empty log and shared memory behind; a replica the service closed
        // has neither, and on a full disk it can then be read only as a snapshot.
        try FileManager.default.removeItem(atPath: replica + "-wal")
        try FileManager.default.removeItem(atPath: replica + "-shm")

        try disk.fill()
        let status = try agent(["status", "--replica", replica])
        #expect(status.status == 74)
        #expect(status.stdout.contains("disk       FULL (0 bytes free): read-only"), "\(status.stdout)")
        #expect(status.stdout.contains("device     gw-1"))
        #expect(status.stderr.contains("is full"), "\(status.stderr)")
        #expect(!status.stderr.contains("disk I/O error"))
        let json = try agent(["status", "--replica", replica, "--json"])
        #expect(json.status == 74)
        let fields = try JSONParser().parse(json.stdout).objectValue
        #expect(fields?["records"]?.objectValue?["live"] == live)
        #expect(fields?["disk"]?.objectValue?["full"] == true)
        #expect(fields?["disk"]?.objectValue?["snapshot"] == ["unreadLogBytes": 0])

        let export = try agent(["export", "--replica", replica, "-o", dir.file("rescue.json")])
        #expect(export.status == 0, "a complete snapshot can be exported to another disk: \(export.stderr)")
        #expect(export.stderr.contains("warning"))
        #expect(try String(contentsOfFile: dir.file("rescue.json"), encoding: .utf8) + "\n" == before)
        #expect(try agent(["get", "--replica", replica, "flocks"]).status == 0)
        #expect(try agent(["conflicts", "--replica", replica]).status == 0)

        let put = try agent(["put", "--replica", replica, "flocks", #"{"id":"new","name":"Lote N"}"#])
        #expect(put.status == 74)
        #expect(put.stderr.contains("is full") && put.stderr.contains("nothing stored was lost"), "\(put.stderr)")

        disk.release()
        #expect(try agent(["status", "--replica", replica]).status == 0)
        #expect(try agent(["export", "--replica", replica]).stdout == before)
        #expect(try agent(["put", "--replica", replica, "flocks", #"{"id":"new","name":"Lote N"}"#]).status == 0)
    }

    /// Where a read left the shared memory behind, a read on a full disk needs no room and sees
    /// everything: no snapshot, no warning, and still exit 74 from `status`.
    @Test(.enabled(if: SmallDisk.isAvailable, "needs root to mount a small tmpfs that can be filled"))
    func aReplicaWithItsSharedMemoryReadsCompletelyOnAFullDisk() throws {
        let disk = try SmallDisk(megabytes: 4)
        let replica = disk.file("replica.sqlite")
        #expect(try agent(["import", "--replica", replica, "--device-id", "gw-1", try SmallFarm.write(in: dir)]).status == 0)
        let before = try agent(["export", "--replica", replica]).stdout
        #expect(FileManager.default.fileExists(atPath: replica + "-shm"))

        try disk.fill()
        let status = try agent(["status", "--replica", replica])
        #expect(status.status == 74)
        #expect(status.stdout.contains("disk       FULL (0 bytes free)") && !status.stdout.contains("read-only"), "\(status.stdout)")
        let export = try agent(["export", "--replica", replica])
        #expect(export.status == 0)
        #expect(export.stdout == before)
        #expect(!export.stderr.contains("warning"), "\(export.stderr)")
        let put = try agent(["put", "--replica", replica, "flocks", #"{"id":"new","name":"Lote N"}"#])
        #expect(put.status == 74)
        #expect(try agent(["export", "--replica", replica]).stdout == before)
    }

    /// A writer that died left committed changes in the write-ahead log; with no room for SQLite's
    /// shared memory, a read sees the main file only, so it says what it is missing rather than
    /// export a farm without them.
    @Test(.enabled(if: SmallDisk.isAvailable, "needs root to mount a small tmpfs that can be filled"))
    func aSnapshotMissingLoggedChangesIsNotPassedOffAsComplete() async throws {
        let disk = try SmallDisk(megabytes: 4)
        var configuration = ReplicaConfiguration()
        configuration.deviceID = "gw-1"
        let source = dir.file("source.sqlite")
        _ = try await Replica.open(path: source, configuration: configuration).put("flocks", ["id": "old", "name": "Lote A"])
        // Closed: checkpointed into the main file (the store thread may let go of it a moment
        // after the call returns). Opened again, the next write stays in the log.
        #expect(await eventually(timeout: 10) { !FileManager.default.fileExists(atPath: source + "-wal") })
        let writer = try await Replica.open(path: source, configuration: configuration)
        _ = try await writer.put("flocks", ["id": "logged", "name": "Lote B"])
        let replica = disk.file("replica.sqlite")
        try FileManager.default.copyItem(atPath: source, toPath: replica)
        try FileManager.default.copyItem(atPath: source + "-wal", toPath: replica + "-wal")
        withExtendedLifetime(writer) {}

        try disk.fill()
        let status = try agent(["status", "--replica", replica])
        #expect(status.status == 74)
        #expect(status.stdout.contains("without") && status.stdout.contains("write-ahead log"), "\(status.stdout)")
        let export = try agent(["export", "--replica", replica])
        #expect(export.status == 74)
        #expect(export.stdout.isEmpty)
        #expect(export.stderr.contains("write-ahead log"), "\(export.stderr)")

        disk.release()
        let flocks = try JSONParser().parse(try agent(["get", "--replica", replica, "flocks"]).stdout).arrayValue ?? []
        #expect(Set(flocks.compactMap { $0.objectValue?["id"]?.stringValue }) == ["old", "logged"])
    }
}
