import AsyncHTTPClient
import EggloguJSON
import EggloguTestSupport
import Foundation
import NIOCore
import NIOHTTP1

/// One browser running the EGGlogU app's web client, reduced to its sync, step by step as
/// `../shared/data/REAL_CLIENT.md` describes it (written from that description, not from the app):
///
/// - the login pull `{"last_synced_at", "data": {}}`, whose merge saves the data, and the save
///   starts a sync before the snapshot is written: the login echo;
/// - later syncs send only records whose JSON differs from the snapshot of the previous sync, and
///   nothing when nothing differs; the first sync ever sends everything;
/// - answers are merged with `Object.assign` (the farm into `D.farm`, records matched by `id`,
///   unknown ones appended); no deletion is ever applied, and local deletions are hard;
/// - a 401 makes it refresh its token at `API_BASE/auth/refresh` and retry once.
///
/// One task uses a browser at a time. Its heavy steps (diffs against the snapshot, merges, JSON
/// of a whole farm) run off Swift's cooperative pool at a low priority, so a large farm does not
/// starve the other tests of the run.
public final class AppBrowser: @unchecked Sendable {
    public enum Failure: Error, Equatable {
        /// The refresh failed too: the app logs the user out.
        case sessionExpired
        /// Any other error status, with the `detail` the app would show.
        case status(Int, String)
    }

    /// What went over the wire.
    public struct Traffic: Sendable, Equatable {
        public var requests = 0
        public var bytesSent = 0
        public var bytesReceived = 0
        /// Time spent in HTTP exchanges, from sending a request to holding its whole answer.
        public var seconds = 0.0
    }

    /// The app's data (`D`).
    public var data: JSONObject
    /// The snapshot of the previous sync (`egglogu_sync_snapshot`); `nil` when the app evicted it.
    public var snapshot: [String: [String: String]]?
    /// `egglogu_last_sync`: the previous answer's `server_now`.
    public private(set) var lastSyncTime: String?
    public private(set) var accessToken: String?
    private var refreshToken: String?
    /// The numbers the conflict toast showed, one per sync that showed it.
    public private(set) var toasts: [Int] = []
    public private(set) var refreshes = 0
    public private(set) var traffic = Traffic()
    /// The last answer of `/sync`.
    public private(set) var lastAnswer: JSONObject?
    private let apiBase: String

    /// - Parameter apiBase: the app's `API_BASE`, e.g. `https://api.example.org/api/v1`.
    public init(apiBase: String, accessToken: String, refreshToken: String, data: JSONObject = AppDefaults.data) {
        self.apiBase = apiBase
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.data = data
    }

    // MARK: What the user does

    /// Logs in: the pull, its merge, and the save that starts the echo before the snapshot is written.
    public func logIn() async throws {
        if let answer = try? await post(["last_synced_at": lastSyncTime.map(JSONValue.string) ?? .null, "data": [:]]) {
            if case .object(let changes)? = answer["server_changes"] { try await niced { self.merge(changes) } }
            if case .string(let now)? = answer["server_now"] { lastSyncTime = now }
        }
        let echo = try await niced {
            let echo = self.delta()
            self.saveSnapshot()
            return echo
        }
        guard echo.count > 0 else { return }
        try await send(echo.data)
    }

    /// The sync a save starts: what differs from the snapshot (everything before the first sync).
    @discardableResult
    public func sync() async throws -> JSONObject? {
        let changed = try await niced { self.delta() }
        guard changed.count > 0 else { return nil }
        try await send(changed.data)
        return lastAnswer
    }

    /// The records of an entity (`flocks`, `production`, ...), or the farm for `farms`.
    public func records(_ entity: String) -> [JSONObject] {
        guard let path = EntityPath.of(entity) else { return [] }
        return array(path).compactMap(\.objectValue)
    }

    public func record(_ entity: String, id: String) -> JSONObject? {
        records(entity).first { $0["id"] == .string(id) }
    }

    /// Changes fields of a record in place, as the app's forms do.
    public func edit(_ entity: String, id: String, _ changes: [(String, JSONValue)]) {
        guard let path = EntityPath.of(entity) else { return }
        var elements = array(path)
        guard let index = elements.firstIndex(where: { $0.objectValue?["id"] == .string(id) }), var record = elements[index].objectValue else {
            return
        }
        for (key, value) in changes { record[key] = value }
        elements[index] = .object(record)
        setArray(path, elements)
    }

    /// Adds a record.
    public func add(_ entity: String, _ record: JSONObject) {
        guard let path = EntityPath.of(entity) else { return }
        setArray(path, array(path) + [.object(record)])
    }

    /// A hard delete (`array.filter`): nothing of it is ever sent.
    public func hardDelete(_ entity: String, id: String) {
        guard let path = EntityPath.of(entity) else { return }
        setArray(path, array(path).filter { $0.objectValue?["id"] != .string(id) })
    }

    public var farm: JSONObject { data["farm"]?.objectValue ?? JSONObject() }

    public func editFarm(_ changes: [(String, JSONValue)]) {
        var farm = self.farm
        for (key, value) in changes { farm[key] = value }
        data["farm"] = .object(farm)
    }

    /// Replaces the access token, e.g. with an expired one.
    public func setAccessToken(_ token: String) {
        accessToken = token
    }

    // MARK: The client's sync

    private func send(_ delta: JSONObject) async throws {
        let answer = try await post(["last_synced_at": lastSyncTime.map(JSONValue.string) ?? .null, "data": .object(delta)])
        lastAnswer = answer
        if case .array(let conflicts)? = answer["conflicts"], !conflicts.isEmpty {
            let count = answer["conflict_count"]?.numberValue?.intValue ?? 0
            toasts.append(count != 0 ? count : conflicts.count)
        }
        lastSyncTime = answer["server_now"]?.stringValue ?? ISO8601DateFormatter().string(from: Date())
        try await niced {
            if case .object(let changes)? = answer["server_changes"] { self.merge(changes) }
            self.saveSnapshot()
        }
    }

    /// Every entity in full before the first sync; afterwards what differs from the snapshot.
    private func delta() -> (data: JSONObject, count: Int) {
        var out = JSONObject()
        var count = 0
        for (entity, path) in EntityPath.all {
            let records = array(path)
            if lastSyncTime == nil {
                out[entity] = .array(records)
                count += records.count
                continue
            }
            let previous = snapshot?[entity] ?? [:]
            let changed = records.filter { previous[Self.snapshotKey($0)] != Self.stringify($0) }
            if !changed.isEmpty {
                out[entity] = .array(changed)
                count += changed.count
            }
        }
        return (out, count)
    }

    private func saveSnapshot() {
        var snap: [String: [String: String]] = [:]
        for (entity, path) in EntityPath.all {
            var entries: [String: String] = [:]
            for record in array(path) { entries[Self.snapshotKey(record)] = Self.stringify(record) }
            snap[entity] = entries
        }
        snapshot = snap
    }

    /// `Object.assign` per record; entities the client does not know are ignored.
    private func merge(_ changes: JSONObject) {
        for (entity, value) in changes {
            guard case .array(let incoming) = value, !incoming.isEmpty, let path = EntityPath.of(entity) else { continue }
            if case .farm = path {
                var farm = self.farm
                for case .object(let r) in incoming { for (key, field) in r { farm[key] = field } }
                data["farm"] = .object(farm)
                continue
            }
            var elements = array(path)
            var index: [String: Int] = [:]
            for (n, element) in elements.enumerated() {
                if let id = element.objectValue?["id"], id.isTruthy, index[Self.identity(id)] == nil { index[Self.identity(id)] = n }
            }
            for case .object(let r) in incoming {
                if let id = r["id"], let n = index[Self.identity(id)], case .object(var existing) = elements[n] {
                    for (key, field) in r { existing[key] = field }
                    elements[n] = .object(existing)
                } else {
                    if let id = r["id"], id.isTruthy { index[Self.identity(id)] = elements.count }
                    elements.append(.object(r))
                }
            }
            setArray(path, elements)
        }
    }

    private func array(_ path: EntityPath) -> [JSONValue] {
        switch path {
        case .farm: return [.object(farm)]
        case .top(let key): return data[key]?.arrayValue ?? []
        case .nested(let parent, let child): return data[parent]?.objectValue?[child]?.arrayValue ?? []
        }
    }

    private func setArray(_ path: EntityPath, _ elements: [JSONValue]) {
        switch path {
        case .farm: break
        case .top(let key): data[key] = .array(elements)
        case .nested(let parent, let child):
            var group = data[parent]?.objectValue ?? JSONObject()
            group[child] = .array(elements)
            data[parent] = .object(group)
        }
    }

    /// `r.id || r.date || JSON.stringify(r).substring(0, 64)`.
    static func snapshotKey(_ record: JSONValue) -> String {
        let object = record.objectValue ?? JSONObject()
        if let id = object["id"], id.isTruthy { return id.jsKeyText }
        if let date = object["date"], date.isTruthy { return date.jsKeyText }
        return String(stringify(record).prefix(64))
    }

    /// `x.id === r.id` tells numbers from strings.
    private static func identity(_ id: JSONValue) -> String {
        (id.stringValue != nil ? "s:" : "n:") + id.jsKeyText
    }

    static func stringify(_ value: JSONValue) -> String {
        String(decoding: value.serialized(), as: UTF8.self)
    }

    // MARK: HTTP, as the client's request() does it

    private func post(_ body: JSONObject, retry: Bool = true) async throws -> JSONObject {
        let (status, answer) = try await exchange(apiBase + "/sync", body: .object(body), token: accessToken)
        if status == 401 && retry {
            if try await refresh() { return try await post(body, retry: false) }
            accessToken = nil
            refreshToken = nil
            throw Failure.sessionExpired
        }
        guard (200..<300).contains(status), case .object(let object)? = answer else {
            throw Failure.status(status, answer?.objectValue?["detail"]?.stringValue ?? "server_error")
        }
        return object
    }

    private func refresh() async throws -> Bool {
        guard let refreshToken else { return false }
        refreshes += 1
        let (status, answer) = try await exchange(apiBase + "/auth/refresh", body: ["refresh_token": .string(refreshToken)], token: nil)
        guard status == 200, let access = answer?.objectValue?["access_token"]?.stringValue,
            let renewed = answer?.objectValue?["refresh_token"]?.stringValue
        else {
            self.accessToken = nil
            self.refreshToken = nil
            return false
        }
        accessToken = access
        self.refreshToken = renewed
        return true
    }

    private func exchange(_ url: String, body: JSONValue, token: String?) async throws -> (Int, JSONValue?) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
        let bytes = try await niced { body.serialized() }
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let started = ContinuousClock.now
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        let buffer = try await response.body.collect(upTo: 256 << 20)
        let elapsed = ContinuousClock.now - started
        traffic.seconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        traffic.requests += 1
        traffic.bytesSent += bytes.count
        traffic.bytesReceived += buffer.readableBytes
        let answer = try await niced { try? JSONParser().parse(Array(buffer.readableBytesView)) }
        return (Int(response.status.code), answer)
    }
}
