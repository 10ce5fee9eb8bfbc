import AsyncHTTPClient
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import GRDB
import NIOCore
import Testing

/// The attacks that once took the server down, against the server binary whose memory is read
/// from the kernel: it must stay under a ceiling and keep serving another farm throughout.
@Suite(.ownThreads) struct HostileLoadTests {
    /// What the server may reach, debug build included (the unit's MemoryMax is 1 GB).
    static let ceilingMB = 256.0

    /// A farm of `count` dailyProduction records of about 370 bytes, written straight into the
    /// server's replica file with SQL: the store would take half a minute in a debug build, and
    /// answering reads nothing but the stored text.
    static func bigFarm(at path: String, count: Int) async throws {
        var configuration = ReplicaConfiguration()
        configuration.deviceID = "server"
        configuration.farmID = "big"
        configuration.role = .server
        _ = try await Replica.open(path: path, configuration: configuration)
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                    INSERT INTO record (collection, id, body, hash, updated_at, deleted_at, origin, vv, gen, seq, dirty)
                    SELECT 'dailyProduction', printf('p%07d', i),
                      json_object('id', printf('p%07d', i), 'date', '2026-03-01', 'flockId', 'mm897apbujzde',
                        'eggsCollected', 4000 + i % 900, 'notes', hex(randomblob(100)),
                        '_updatedAt', '2026-03-01T00:00:00.000Z', '_deletedAt', NULL, '_syncOrigin', 'gw',
                        '_syncVV', json_object('gw', '2026-03-01T00:00:00.000Z')),
                      lower(hex(randomblob(16))), 1772323200000, NULL, 'gw', '{"gw":1772323200000}', 0, i, 0
                    FROM n;
                    INSERT INTO change_time (seq, at) VALUES (1, 1772323200000);
                    """,
                arguments: [count]
            )
        }
    }

    static func peakMB(_ pid: Int32) -> Double {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0) / 1024
    }

    func post(_ url: String, _ body: [UInt8], token: String) async throws -> (Int, Int) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer " + token)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
        let answer = try await response.body.collect(upTo: 256 << 20)
        return (Int(response.status.code), answer.readableBytes)
    }

    @Test(.timeLimit(.minutes(5)))
    func hostilePushesAndPullsStayUnderTheCeilingAndOtherFarmsAreServed() async throws {
        let dir = TemporaryDirectory()
        let data = dir.file("data")
        try FileManager.default.createDirectory(atPath: data + "/farms", withIntermediateDirectories: true)
        try await Self.bigFarm(at: data + "/farms/big.sqlite", count: 100_000)
        let server = ChildService("egglogu-sync-server", ["serve", "--port", "0", "--data-dir", data], in: dir)
        try await offPool { try server.start(waitingFor: "listening on") }
        let pid = try #require(server.pid)
        let url = try #require(server.stdout.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        func token(_ farm: String, _ device: String) async throws -> String {
            try await offPool {
                try Subprocess.run("egglogu-sync-server", ["token", "--data-dir", data, "--farm", farm, "--device", device], in: dir).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        let attacker = try await token("farm-a", "intruder")
        let reader = try await token("big", "phone")
        let bystander = try await token("farm-b", "gw-b")
        let idle = Self.peakMB(pid)

        // 15 MB of `[]`: five million records that used to take 2.9 GB once parsed.
        let empties = Array((#"{"data":{"flocks":["# + String(repeating: "[],", count: 5_000_000) + "[]]}}").utf8)
        let deltaEmpties = Array(
            (#"{"farmId":"farm-a","deviceId":"intruder","changes":[{"collection":"flocks","records":["# + String(repeating: "[],", count: 5_000_000)
                + "[]]}]}").utf8
        )
        // 900,000 tiny records.
        let tiny = Array((#"{"data":{"flocks":["# + String(repeating: #"{"id":"r"},"#, count: 900_000) + #"{"id":"last"}]}}"#).utf8)

        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            group.addTask {
                let refused = [
                    try await post(url + "/api/v1/sync", empties, token: attacker).0,
                    try await post(url + "/api/v1/sync/delta", deltaEmpties, token: attacker).0,
                    try await post(url + "/api/v1/sync", tiny, token: attacker).0,
                ]
                #expect(refused == [413, 413, 413])
                return []
            }
            for _ in 0..<4 {
                group.addTask {
                    let (status, bytes) = try await post(url + "/api/v1/sync", Array(#"{"last_synced_at":null,"data":{}}"#.utf8), token: reader)
                    #expect(status == 200)
                    #expect(bytes > 30 << 20, "the whole farm: \(bytes) bytes")
                    return []
                }
            }
            group.addTask {
                var times: [Double] = []
                for n in 0..<20 {
                    let body = Array(
                        #"{"farmId":"farm-b","deviceId":"gw-b","changes":[{"collection":"flocks","records":[{"id":"f\#(n)","_updatedAt":"2026-03-01T00:00:00Z"}]}]}"#
                            .utf8
                    )
                    let start = Date()
                    let status = try await post(url + "/api/v1/sync/delta", body, token: bystander).0
                    #expect(status == 200)
                    times.append(Date().timeIntervalSince(start))
                    try await Task.sleep(for: .milliseconds(100))
                }
                return times
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let peak = Self.peakMB(pid)
        let slowest = latencies.max() ?? 0
        print(
            String(
                format: "hostile load: server peak RSS %.1f MB (idle %.1f MB, ceiling %.0f MB); another farm's slowest push %.0f ms",
                peak,
                idle,
                Self.ceilingMB,
                slowest * 1000
            )
        )
        #expect(idle > 1 && peak > idle, "VmHWM must be readable and must have grown under the load")
        #expect(peak < Self.ceilingMB)
        #expect(latencies.count == 20)
        try await offPool { _ = server.stop() }
    }
}
