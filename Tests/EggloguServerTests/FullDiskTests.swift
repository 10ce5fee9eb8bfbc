import AsyncHTTPClient
import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The server binary on a real file system that fills up and goes read-only: `/healthz` says so,
/// pushes get 507 with a JSON body, pulls keep working, admin commands exit 74 with a sentence, and
/// everything works again once there is room, nothing lost.
@Suite(.ownThreads) struct FullDiskTests {
    struct Answer {
        let status: Int
        let json: JSONObject
        let retryAfter: String?
    }

    func call(_ url: String, method: HTTPMethod = .GET, token: String? = nil, body: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 1 << 20)
        let json = try JSONParser().parse(Array(buffer.readableBytesView)).objectValue ?? [:]
        return Answer(status: Int(response.status.code), json: json, retryAfter: response.headers.first(name: "Retry-After"))
    }

    /// `/healthz` until it answers `status` (it probes at most once a second).
    func health(_ url: String, becomes status: Int) async throws -> Answer {
        var answer = try await call(url + "/healthz")
        for _ in 0..<30 where answer.status != status {
            try await Task.sleep(for: .milliseconds(200))
            answer = try await call(url + "/healthz")
        }
        return answer
    }

    /// The ids of a page's flocks.
    func ids(_ page: Answer) -> Set<String> {
        let groups = page.json["changes"]?.arrayValue ?? []
        let records = groups.flatMap { $0.objectValue?["records"]?.arrayValue ?? [] }
        return Set(records.compactMap { $0.objectValue?["id"]?.stringValue })
    }

    func push(_ id: String, farm: String = "f1", device: String = "d1") -> String {
        #"{"farmId":"\#(farm)","deviceId":"\#(device)","since":null,"changes":[{"collection":"flocks","records":[{"id":"\#(id)","name":"Lote \#(id)","_updatedAt":"2026-11-30T08:00:00.000Z"}]}]}"#
    }

    @Test(.enabled(if: SmallDisk.isAvailable, "needs root to mount a small tmpfs that can be filled"))
    func aFullOrReadOnlyDiskIsReportedAndNothingIsLost() async throws {
        let dir = TemporaryDirectory()
        let disk = try SmallDisk(megabytes: 8)
        let data = disk.file("data")
        let admin = { (arguments: [String]) in try Subprocess.run("egglogu-sync-server", arguments + ["--data-dir", data], in: dir) }
        let server = ChildService("egglogu-sync-server", ["serve", "--port", "0", "--data-dir", data], in: dir)
        try await offPool { try server.start(waitingFor: "listening on") }
        let url = try #require(server.stdout.split(separator: " ").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) })
        let minted = try admin(["token", "--farm", "f1", "--device", "d1"])
        #expect(minted.status == 0)
        let token = minted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await call(url + "/api/v1/sync/delta", method: .POST, token: token, body: push("a")).status == 200)
        let healthy = try await call(url + "/healthz")
        #expect(healthy.status == 200 && healthy.json["status"] == "ok")

        try disk.fill()
        let full = try await health(url, becomes: 503)
        #expect(full.status == 503)
        #expect(full.json["status"] == "unhealthy" && full.json["error"] == "disk-full")
        let refused = try await call(url + "/api/v1/sync/delta", method: .POST, token: token, body: push("b"))
        #expect(refused.status == 507)
        #expect(refused.json["error"] == "disk-full")
        #expect(refused.retryAfter == "60")
        let pulled = try await call(url + "/api/v1/sync/delta?farmId=f1", token: token)
        #expect(pulled.status == 200, "reads need no room")
        #expect(ids(pulled) == ["a"])

        for arguments in [
            ["token", "--farm", "f1", "--device", "d2"], ["revoke", "--farm", "f1", "--device", "d1"], ["backup", disk.file("copy")],
        ] {
            let run = try admin(arguments)
            #expect(run.status == 74, "\(arguments[0]): \(run.stderr)")
            #expect(run.stderr.contains("is full"), "\(arguments[0]): \(run.stderr)")
            #expect(!run.stderr.contains("Error:") && !run.stderr.contains("disk I/O error"), "\(arguments[0]): \(run.stderr)")
        }
        let listed = try admin(["devices", "--farm", "f1"])
        #expect(listed.status == 0 && listed.stdout.contains("d1"), "reading the registry works on a full disk")

        disk.release()
        #expect(try await health(url, becomes: 200).status == 200)
        #expect(try await call(url + "/api/v1/sync/delta", method: .POST, token: token, body: push("b")).status == 200)
        let after = try await call(url + "/api/v1/sync/delta?farmId=f1", token: token)
        #expect(ids(after) == ["a", "b"], "\(after.json)")

        let token2 = try admin(["token", "--farm", "f2", "--device", "d1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try disk.setReadOnly(true)
        let readOnly = try await health(url, becomes: 503)
        #expect(readOnly.json["error"] == "data-dir-not-writable", "\(readOnly.json)")
        // A new farm needs a new file: refused with a JSON error, nothing half-created.
        let newFarm = try await call(url + "/api/v1/sync/delta?farmId=f2", token: token2)
        #expect(newFarm.status == 503 && newFarm.json["error"] == "storage-unavailable", "\(newFarm.status) \(newFarm.json)")
        #expect(newFarm.retryAfter == "30", "a retry hint: the directory may come back")
        try disk.setReadOnly(false)
        #expect(try await health(url, becomes: 200).status == 200)

        let output = try await offPool { server.stop() }
        #expect(output?.stderr.contains("Fatal error") != true)
        withExtendedLifetime(disk) {}
    }
}
