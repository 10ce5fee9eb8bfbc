import EggloguAppEmulator
import EggloguCore
import EggloguFixtures
import EggloguJSON
import EggloguStore
import EggloguTestSupport
import Foundation

/// Two browsers running the app's web client on the legacy route (`POST /api/v1/sync`, as
/// REAL_CLIENT.md describes it), writing beside the gateways, each on an instance of its own when
/// there are several.
struct SoakApps {
    static let users = ["app-1", "app-2"]
    let browsers: [String: AppBrowser]
    /// The server's store of the farm (SQLite: PostgreSQL servers do not serve the legacy route).
    private let farmFile: String

    /// Restarts the fixture's servers with a backend secret, and logs both browsers in.
    init(fixture: RealtimeFixture) async throws {
        let path = try fixture.directory.writeSecret(String(decoding: AppTokens.secret, as: UTF8.self), to: "app-jwt-secret")
        fixture.serverArguments = ["--app-jwt-secret-file", path]
        for instance in fixture.serverPorts.indices {
            fixture.stopServer(instance)
            try fixture.startServer(instance)
        }
        var browsers: [String: AppBrowser] = [:]
        for (n, user) in Self.users.enumerated() {
            let token = AppTokens.access(user: user, org: "farm-rt", lifetime: 86_400)
            let url = fixture.serverURL(n % fixture.serverPorts.count) + "/api/v1"
            let browser = AppBrowser(apiBase: url, accessToken: token, refreshToken: "none")
            try await browser.logIn()
            browsers[user] = browser
        }
        self.browsers = browsers
        farmFile = fixture.directory.file("server") + "/farms/farm-rt.sqlite"
    }

    /// One edit (or a new record) in `user`'s browser, then the sync its save starts. Acknowledged
    /// when the server answers 200; the version it made is read back from the server's store.
    func write(_ n: Int, by user: String, ledger: inout SoakLedger, random: inout FixtureRandom) async throws {
        guard let browser = browsers[user] else { return }
        let id = SoakLedger.ids[random.below(SoakLedger.ids.count)]
        if browser.record("flocks", id: id) != nil {
            browser.edit("flocks", id: id, [("name", .string("a\(n)")), ("by", .string(user))])
        } else {
            browser.add("flocks", ["id": .string(id), "name": .string("a\(n)"), "by": .string(user)])
        }
        try await browser.sync()
        let server = try await Replica.openForReading(path: farmFile)
        let value = try await server.get(SoakLedger.collection, id: id, includeDeleted: true)
        let name = JSONValue.string("a\(n)")
        if let stored = try? RecordVersion(record: value), stored.content["name"] == name {
            ledger.acknowledge(stored, by: user)
        } else if let entry = try await server.conflicts(includeResolved: true).first(where: {
            $0.recordID == id && $0.loser.content["name"] == name
        }) {
            // The browser's copy was stale: its version lost at once and was archived.
            ledger.acknowledge(entry.loser, by: user)
        } else {
            ledger.noteUnverified(by: user)
        }
    }
}
