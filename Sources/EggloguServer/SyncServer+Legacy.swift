import EggloguCore
import EggloguHTTP
import EggloguJSON
import EggloguProtocol
import EggloguStore
import Foundation
import Hummingbird

extension SyncServer {
    /// `POST /api/v1/sync`, the endpoint devices use today. It takes either the whole
    /// `egglogu_data` blob or `{"last_synced_at", "data": {entity: [records]}}`.
    ///
    /// Both go through the import rules with the legacy-push policy: a record equal to the
    /// stored one changes nothing, a copy unchanged since this device's previous push is stale,
    /// anything else is this device's edit stamped with server time (archiving what it
    /// overwrites, and never undeleting). A record the device no longer sends is not deleted: a
    /// device that has not synced for weeks sends a blob without everything the other devices
    /// created meanwhile, and absence cannot tell "deleted here" from "never seen here".
    func legacyPush(_ request: Request, context: some RequestContext) async throws -> Response {
        let claims = try await authenticate(request)
        let body = try await JSONBody.read(request, limit: configuration.maxBodyBytes)
        guard case .object(let object) = body else { throw APIError.badRequest("the body must be a JSON object") }
        let farm = try legacyFarm(request, claims: claims)
        let replica = try stores.replica(farm)
        let options = ImportOptions(policy: .legacyPush(device: claims.subject), source: "legacy push from \(claims.subject)")
        let entityShape = object["data"]?.objectValue != nil && object.keys.allSatisfy { $0 == "data" || $0 == "last_synced_at" }
        guard entityShape else {
            _ = try await importing(.object(object), into: replica, options: options)
            try await seen(farm: farm, device: claims.subject)
            return JSONBody.response(["status": "ok", "synced_at": .string(serverTime)])
        }
        let (blob, unknown) = try LegacyRequest.blob(from: object["data"]!.objectValue!)
        var since: Int64 = 0
        switch object["last_synced_at"] {
        case nil, .null?: break
        case .string(let text)?:
            guard let time = Timestamp(iso8601: text) else { throw APIError.badRequest("last_synced_at must be an ISO-8601 time") }
            since = try await blocking { try replica.sequence(receivedBefore: time) }
        default: throw APIError.badRequest("last_synced_at must be an ISO-8601 time or null")
        }
        let now = serverTime
        let report = try await importing(blob, into: replica, options: options)
        try await seen(farm: farm, device: claims.subject)
        var changes: [String: [JSONValue]] = [:]
        var cursor = since
        while true {
            let after = cursor
            let page = try await blocking { try replica.changes(after: after, limit: 2_000) }
            for change in page.changes {
                guard let entity = LegacyEntity.entities[change.collection] else { continue }
                changes[entity, default: []].append(try JSONParser().parse(change.body))
            }
            cursor = page.cursor
            if !page.hasMore { break }
        }
        let conflicts = unknown.map { JSONValue.string("Unknown entity: \($0)") }
            + (report.conflicts > 0 ? [.string("\(report.conflicts) conflicting versions kept for review")] : [])
        return JSONBody.response([
            "synced": .number(JSONNumber(report.records)),
            "conflicts": .array(conflicts),
            "server_changes": .object(JSONObject(changes.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value)) })),
            "server_now": .string(now),
        ])
    }

    private func importing(_ blob: JSONValue, into replica: Replica, options: ImportOptions) async throws -> ImportReport {
        do {
            let report = try await blocking { try replica.importBlob(blob, options: options) }
            if report.added + report.updated + report.deleted + report.conflicts > 0, case .legacyPush(let device) = options.policy {
                let head = try await blocking { try replica.headSequence() }
                notifier?.announce(
                    Notice(
                        farmID: replica.farmID ?? "", deviceID: device, cursor: Cursor(epoch: replica.epoch, seq: head).description,
                        collections: [], count: report.added + report.updated, at: serverTime))
            }
            return report
        } catch let error as ReplicaError where error.code == .badData || error.code == .invalidName {
            throw APIError(.badRequest, "bad-data", error.message)
        }
    }

    /// The farm of a legacy request: `?farmId=`, or the token's only farm.
    private func legacyFarm(_ request: Request, claims: TokenClaims) throws -> String {
        if let farm = request.uri.queryParameters.get("farmId") {
            try authorize(claims, farm: farm)
            return farm
        }
        guard claims.farms.count == 1 else {
            throw APIError.badRequest("the token grants several farms: name one with ?farmId=")
        }
        return claims.farms[0]
    }

    /// `POST /api/v1/auth/renew`: a fresh token, with the same subject, farms and lifetime, for a valid one.
    func renew(_ request: Request, context: some RequestContext) async throws -> Response {
        let claims = try await authenticate(request)
        let lifetime = max(60, claims.expiresAt.timeIntervalSince(claims.issuedAt))
        let minted = try await authority.mint(subject: claims.subject, farms: claims.farms, lifetime: lifetime)
        let registry = self.registry
        try await blocking { try registry.register(device: claims.subject, farms: claims.farms) }
        return JSONBody.response([
            "token": .string(minted.token),
            "expiresAt": .string(Timestamp(milliseconds: Int64(minted.claims.expiresAt.timeIntervalSince1970 * 1000)).iso8601),
        ])
    }
}

/// The legacy `data` object as a blob: entity keys mapped to collections.
enum LegacyRequest {
    static func blob(from data: JSONObject) throws -> (blob: JSONValue, unknown: [String]) {
        var blob = JSONObject()
        var unknown: [String] = []
        for (entity, value) in data {
            guard let collection = LegacyEntity.collections[entity] else {
                unknown.append(entity)
                continue
            }
            guard case .array(let records) = value else {
                throw APIError.badRequest("data.\(entity) must be an array of records")
            }
            if CollectionName.singletons.contains(collection) {
                if case .object(let fields)? = records.first {
                    blob[collection] = .object(fields.filter(keys: { $0 != "id" }))
                }
            } else if let dot = collection.firstIndex(of: ".") {
                let parent = String(collection[..<dot])
                var group = blob[parent]?.objectValue ?? JSONObject()
                group[String(collection[collection.index(after: dot)...])] = .array(records)
                blob[parent] = .object(group)
            } else {
                blob[collection] = .array(records)
            }
        }
        return (.object(blob), unknown)
    }
}
