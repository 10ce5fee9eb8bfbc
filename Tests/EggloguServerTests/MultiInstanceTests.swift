import AsyncHTTPClient
import EggloguAgentSync
import EggloguJSON
import EggloguStore
import EggloguSyncClient
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Synchronization
import Testing

/// Two `egglogu-sync-server` processes on one data directory, or on one PostgreSQL database,
/// devices spread across them: any instance serves any farm, the change feed skips and repeats
/// nothing while both write, revocation applies on both at once, and every device converges.
@Suite(.ownThreads) struct MultiInstanceTests {
    static let farm = "farm-mi"

    let dir = TemporaryDirectory()
    var data: String { dir.file("data") }
    /// `--database URL` on PostgreSQL, nothing on SQLite.
    let database: [String]

    init(backend: StoreBackend) throws {
        database = backend == .postgres ? ["--database", try PostgresServer.shared().createDatabase()] : []
    }

    init() { database = [] }

    func startInstance(broker: Int? = nil) throws -> (service: ChildService, url: String) {
        let port = Broker.freePort()
        let mqtt = broker.map { ["--mqtt-host", "127.0.0.1", "--mqtt-port", "\($0)"] } ?? []
        let service = ChildService("egglogu-sync-server", ["serve", "--data-dir", data, "--port", "\(port)"] + database + mqtt, in: dir)
        try service.start(waitingFor: "listening on")
        if broker != nil {
            // A notice of a push made before the instance reaches the broker is not sent (devices pull).
            let deadline = Date().addingTimeInterval(20)
            while !service.stderr.contains("notices: broker connected") && Date() < deadline { usleep(20_000) }
        }
        return (service, "http://127.0.0.1:\(port)")
    }

    func token(_ device: String) throws -> String {
        let minted = try Subprocess.run(
            "egglogu-sync-server",
            ["token", "--data-dir", data, "--farm", Self.farm, "--device", device] + database,
            in: dir
        )
        return minted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct Device: Sendable {
        let name: String
        let replica: Replica
        let sync: AgentSync
        let client: SyncClient
    }

    func device(_ name: String, url: String) async throws -> Device {
        var configuration = ReplicaConfiguration()
        configuration.deviceID = name
        configuration.farmID = Self.farm
        let replica = try await Replica.open(path: dir.file(name + ".sqlite"), configuration: configuration)
        let client = try SyncClient(configuration: .init(serverURL: url))
        let sync = AgentSync(replica: replica, farm: Self.farm, transport: client, token: TokenStore(token: try token(name), origin: .ephemeral))
        return Device(name: name, replica: replica, sync: sync, client: client)
    }

    /// A raw pull; the answer's records as (collection, record) and its cursor.
    func pull(_ url: String, token: String, since: String?) async throws -> (records: [(String, JSONValue)], cursor: String, hasMore: Bool) {
        let query = since.map { "&since=\($0)" } ?? ""
        var request = HTTPClientRequest(url: "\(url)/api/v1/sync/delta?farmId=\(Self.farm)&limit=50\(query)")
        request.headers.add(name: "Authorization", value: "Bearer " + token)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok else { throw CancellationError() }
        let json = try JSONParser().parse(Array(body.readableBytesView)).objectValue!
        let records = (json["changes"]?.arrayValue ?? []).flatMap { group -> [(String, JSONValue)] in
            let collection = group.objectValue?["collection"]?.stringValue ?? "?"
            return (group.objectValue?["records"]?.arrayValue ?? []).map { (collection, $0) }
        }
        return (records, json["cursor"]!.stringValue!, json["hasMore"] == .bool(true))
    }

    static func sequence(_ cursor: String) -> Int64 { Int64(cursor.split(separator: ":").last ?? "") ?? -1 }

    @Test(arguments: StoreBackend.allCases)
    func devicesOnTwoInstancesConvergeAndTheFeedSkipsAndRepeatsNothing(_ backend: StoreBackend) async throws {
        try await Self(backend: backend).convergeOnTwoInstances()
    }

    func convergeOnTwoInstances() async throws {
        let first = try startInstance()
        let second = try startInstance()
        defer {
            first.service.stop()
            second.service.stop()
        }
        let urls = [first.url, second.url]
        var devices: [Device] = []
        for n in 0..<6 { devices.append(try await device("gw-\(n)", url: urls[n % 2])) }
        let rounds = 10
        let writersDone = Atomic<Bool>(false)
        let watcherToken = try token("watcher")

        // The watcher follows the feed from its cursor, alternating instances, while everyone writes.
        async let watched: (deliveries: [String: Int], latest: [String: JSONValue], monotonic: Bool) = {
            var deliveries: [String: Int] = [:]
            var latest: [String: JSONValue] = [:]
            var cursor: String?
            var monotonic = true
            var turn = 0
            var finalPasses = 0
            while finalPasses < 2 {
                if writersDone.load(ordering: .acquiring) { finalPasses += 1 }
                var more = true
                while more {
                    let page = try await pull(urls[turn % 2], token: watcherToken, since: cursor)
                    turn += 1
                    if let cursor, Self.sequence(page.cursor) < Self.sequence(cursor) { monotonic = false }
                    cursor = page.cursor
                    more = page.hasMore
                    for (collection, record) in page.records {
                        let id = record.objectValue?["id"]?.stringValue ?? "?"
                        // Two devices can stamp the same millisecond: a version is its stamp and its origin.
                        let stamp = record.objectValue?["_updatedAt"]?.stringValue ?? ""
                        let version = "\(collection)/\(id)@\(stamp)/\(record.objectValue?["_syncOrigin"]?.stringValue ?? "")"
                        deliveries[version, default: 0] += 1
                        latest["\(collection)/\(id)"] = record
                    }
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            return (deliveries, latest, monotonic)
        }()

        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, device) in devices.enumerated() {
                group.addTask {
                    for round in 0..<rounds {
                        _ = try await device.replica.put("flocks", ["id": .string("\(device.name)-\(round)"), "round": .number(JSONNumber(round))])
                        if round % 3 == n % 3 {
                            _ = try await device.replica.put("sheds", ["id": .string("shared-\(round % 4)"), "by": .string(device.name)])
                        }
                        try await device.sync.sync()
                    }
                }
            }
            try await group.waitForAll()
        }
        for _ in 0..<2 { for device in devices { try await device.sync.sync() } }
        writersDone.store(true, ordering: .releasing)
        let watcher = try await watched

        let exports = try await devices.asyncMap { try await $0.replica.exportBlob() }
        #expect(Set(exports).count == 1, "every device converged")
        let flocks = try await devices[0].replica.get("flocks").arrayValue ?? []
        #expect(flocks.count == devices.count * rounds, "every record once: none lost, none doubled")

        #expect(watcher.monotonic, "the cursor never went back")
        let repeated = watcher.deliveries.filter { $0.value > 1 }
        #expect(repeated.isEmpty, "no version was delivered twice: \(repeated.prefix(5))")
        var full: [String: JSONValue] = [:]
        var cursor: String?
        var more = true
        while more {
            let page = try await pull(first.url, token: watcherToken, since: cursor)
            for (collection, record) in page.records { full["\(collection)/\(record.objectValue?["id"]?.stringValue ?? "?")"] = record }
            cursor = page.cursor
            more = page.hasMore
        }
        #expect(full.count >= devices.count * rounds + 4)
        let skipped = full.filter { watcher.latest[$0.key] != $0.value }.map(\.key)
        #expect(skipped.isEmpty, "the feed skipped no change: the watcher's latest versions are the final ones: \(skipped.prefix(5))")
        for device in devices { await device.client.shutdown() }
    }

    @Test(arguments: StoreBackend.allCases)
    func eachInstancePublishesTheNoticesOfThePushesItServes(_ backend: StoreBackend) async throws {
        try await Self(backend: backend).noticesFromTwoInstances()
    }

    func noticesFromTwoInstances() async throws {
        let broker = try Broker()
        try broker.start()
        defer { broker.kill() }
        let first = try startInstance(broker: broker.port)
        let second = try startInstance(broker: broker.port)
        defer {
            first.service.stop()
            second.service.stop()
        }
        let topic = "egglogu/\(Self.farm)/sync"
        let subscriber = try Subprocess.start(
            "/usr/bin/mosquitto_sub",
            ["-h", "127.0.0.1", "-p", "\(broker.port)", "-t", topic, "-W", "60"],
            in: dir
        )
        defer { subscriber.process.send(SIGKILL) }
        let heard = { () -> [JSONObject] in
            let text = (try? String(contentsOfFile: subscriber.stdoutPath, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? JSONParser().parse(String($0)).objectValue }
        }
        // Subscribed once a probe comes back (a fixed pause was too short on a loaded CI machine).
        let subscribed = await eventually(timeout: 20) {
            _ = try? Subprocess.runTool("/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-t", topic, "-m", #"{"probe":true}"#])
            return heard().contains { $0["probe"] != nil }
        }
        #expect(subscribed)
        let a = try await device("gw-a", url: first.url)
        let b = try await device("gw-b", url: second.url)
        _ = try await a.replica.put("flocks", ["id": "from-a"])
        try await a.sync.sync()
        _ = try await b.replica.put("flocks", ["id": "from-b"])
        try await b.sync.sync()
        let devices = { Set(heard().compactMap { $0["deviceId"]?.stringValue }) }
        #expect(
            await eventually(timeout: 20) { devices() == ["gw-a", "gw-b"] },
            "one notice per push, from the instance that served it: \(devices())"
        )
        #expect(heard().filter { $0["deviceId"] != nil }.count == 2)
        await a.client.shutdown()
        await b.client.shutdown()
    }

    @Test(arguments: StoreBackend.allCases)
    func aRevocationAppliesOnBothInstancesAtOnce(_ backend: StoreBackend) async throws {
        try await Self(backend: backend).revokeOnTwoInstances()
    }

    func revokeOnTwoInstances() async throws {
        let first = try startInstance()
        let second = try startInstance()
        defer {
            first.service.stop()
            second.service.stop()
        }
        let token = try token("gw-revoked")
        #expect(try await pull(first.url, token: token, since: nil).records.isEmpty)
        #expect(try await pull(second.url, token: token, since: nil).records.isEmpty)
        let revoked = try Subprocess.run(
            "egglogu-sync-server",
            ["revoke", "--data-dir", data, "--farm", Self.farm, "--device", "gw-revoked"] + database,
            in: dir
        )
        #expect(revoked.status == 0)
        for url in [first.url, second.url] {
            var request = HTTPClientRequest(url: "\(url)/api/v1/sync/delta?farmId=\(Self.farm)")
            request.headers.add(name: "Authorization", value: "Bearer " + token)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status.code == 401, "\(url) refused the revoked token at once")
        }
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
