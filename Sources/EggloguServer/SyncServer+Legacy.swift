import EggloguCore
import EggloguHTTP
import EggloguJSON
import EggloguProtocol
import EggloguStore
import Foundation
import Hummingbird
import Logging

/// Who is syncing through the legacy endpoint.
struct LegacyClient: Sendable {
    let farm: String
    /// Who makes the versions of a delta push.
    let author: LegacyAuthor
    /// A stable name for the device registry and full-blob pushes.
    let device: String
}

extension SyncServer {
    /// `POST /api/v1/sync` and `/api/v1/sync/`: the endpoint of the app's own web client, which
    /// posts `{"last_synced_at", "data": {entity: [records]}}`, and of older devices that post the
    /// whole `egglogu_data` blob. See docs/protocol.md for the rules.
    func legacySync(_ request: Request, context: some RequestContext) async throws -> Response {
        let client = try await legacyClient(request)
        return try await withBody(request) { body in try await legacySync(body, client: client, logger: context.logger) }
    }

    private func legacySync(_ body: JSONValue, client: LegacyClient, logger: Logger) async throws -> Response {
        let parsed: LegacySyncRequest
        do {
            parsed = try LegacySyncRequest(json: body)
        } catch {
            throw APIError.unprocessable(error.message)
        }
        let replica = try await sqliteStores().replica(client.farm)
        switch parsed {
        case .blob(let blob):
            // A blob's records carry sync metadata that is taken at its word (a deletion, a pinned
            // version), which a backend token, held by every user of the organisation, may not do.
            guard case .device = client.author else {
                throw APIError.forbidden("a whole-blob push needs a device token; the app's client sends {\"last_synced_at\", \"data\"}")
            }
            let records = Self.recordCount(blob)
            guard records <= configuration.maxLegacyRecords else {
                throw APIError.tooManyRecords(records, limit: configuration.maxLegacyRecords)
            }
            return try await legacyBlob(blob, client: client, replica: replica, logger: logger)
        case .delta(let lastSyncedAt, let data):
            guard let since = LegacyTime.since(lastSyncedAt) else {
                throw APIError.unprocessable("last_synced_at must be a date-time (ISO 8601 or a date), Unix time, or null")
            }
            return try await legacyDelta(data, since: since, client: client, replica: replica, logger: logger)
        }
    }

    private func legacyDelta(_ data: JSONObject, since: LegacySince, client: LegacyClient, replica: Replica, logger: Logger) async throws -> Response
    {
        let records = data.reduce(0) { $0 + ($1.value.arrayValue?.count ?? 0) }
        guard records <= configuration.maxLegacyRecords else {
            throw APIError.tooManyRecords(records, limit: configuration.maxLegacyRecords)
        }
        var push = LegacyPush(since: since, author: client.author)
        var notes: [String] = []
        for (entity, value) in data {
            guard let collection = LegacyEntity.collections[entity] else {
                notes.append("Unknown entity: \(entity)")
                continue
            }
            guard case .array(let records) = value else {
                notes.append("\(entity): rejected: it must be a list of records, not a \(value.typeName)")
                continue
            }
            if entity == LegacyEntity.farm {
                push.farm += records
            } else {
                push.groups.append(.init(label: entity, collection: collection, records: records))
            }
        }
        let request = push
        let result = try await storing { try await replica.legacyPush(request) }
        await seen(farm: client.farm, device: client.device, logger: logger)
        let rejected = result.issues.filter { if case .rejected = $0.kind { true } else { false } }.count
        metrics.merged(farm: client.farm, accepted: result.synced, rejected: rejected, conflicts: result.conflicts, head: result.head)
        if result.changed > 0 {
            notices?.publish(
                Notice(
                    farmID: client.farm,
                    deviceID: result.origin,
                    cursor: Cursor(epoch: replica.epoch, seq: result.head).description,
                    collections: result.changedCollections,
                    count: result.synced,
                    at: serverTime
                ),
                inline: nil
            )
        }
        let lines = notes + result.issues.map(Self.describe)
        var conflicts = Array(lines.prefix(configuration.maxListedRejections))
        if lines.count > conflicts.count { conflicts.append("… and \(lines.count - conflicts.count) more") }
        var writer = LegacyAnswerWriter()
        writer.begin(synced: result.synced, conflicts: conflicts, conflictCount: lines.count)
        return try await legacyAnswer(result, replica: replica, writer: writer)
    }

    /// The answer's changes after the push: read at once when they are few, else streamed one page
    /// at a time under a heavy-request permit, so no request holds a whole farm.
    private func legacyAnswer(_ result: LegacyPushResult, replica: Replica, writer opened: LegacyAnswerWriter) async throws -> Response {
        let cursor = Cursor(epoch: replica.epoch, seq: result.head).description
        let count = try await replica.legacyChangeCount(for: result)
        guard count > configuration.legacyPageSize else {
            var writer = opened
            if let farm = try await replica.legacyFarm(for: result) { writer.farm(farm) }
            var groups: [String: [LegacyRecord]] = [:]
            for record in try await replica.legacyChanges(for: result, collections: Self.answeredCollections) {
                groups[LegacyEntity.entities[record.collection]!, default: []].append(record)
            }
            for (entity, records) in groups.sorted(by: { $0.key < $1.key }) {
                for record in records { writer.append(entity: entity, record: record.body, contentHash: record.hash) }
            }
            writer.end(serverNow: result.token, syncCursor: cursor)
            return JSONBody.response(writer.take())
        }
        let pageSize = configuration.legacyPageSize
        let body = ResponseBody { [heavyRequests] stream in
            try await heavyRequests.run {
                var writer = opened
                if let farm = try await replica.legacyFarm(for: result) { writer.farm(farm) }
                for (entity, collection) in Self.answeredEntities {
                    var after: String? = nil
                    repeat {
                        let page = try await replica.legacyPage(of: collection, for: result, after: after, limit: pageSize)
                        for record in page.records { writer.append(entity: entity, record: record.body, contentHash: record.hash) }
                        after = page.next
                        try await stream.write(ByteBuffer(bytes: writer.take()))
                    } while after != nil
                }
                writer.end(serverNow: result.token, syncCursor: cursor)
                try await stream.write(ByteBuffer(bytes: writer.take()))
            }
            try await stream.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: body)
    }

    /// The entities the client reads (the farm apart), by name, with their collections.
    static let answeredEntities: [(entity: String, collection: String)] = LegacyEntity.answered.sorted()
        .compactMap { $0 == LegacyEntity.farm ? nil : ($0, LegacyEntity.collections[$0]!) }

    static let answeredCollections = Set(answeredEntities.map(\.collection))

    static func describe(_ issue: LegacyPushResult.Issue) -> String {
        let name = issue.id.map { "\(issue.label)/\($0)" } ?? "\(issue.label)[\(issue.index)]"
        switch issue.kind {
        case .conflict(let kind):
            return "\(name): \(kind.rawValue), both versions kept for review"
        case .rejected(let error):
            return "\(name): rejected (\(error.reason)): \(error.message)"
        }
    }

    /// The whole blob of an older device: the import rules with a baseline per device, answered
    /// `{"status": "ok", "synced_at": ...}`. A record the blob lacks is not deleted.
    private func legacyBlob(_ blob: JSONObject, client: LegacyClient, replica: Replica, logger: Logger) async throws -> Response {
        let options = ImportOptions(policy: .legacyPush(device: client.device), source: "legacy push from \(client.device)")
        let report = try await storing { try await replica.importBlob(.object(blob), options: options) }
        await seen(farm: client.farm, device: client.device, logger: logger)
        if report.added + report.updated + report.deleted + report.conflicts > 0 {
            let head = try await replica.headSequence()
            notices?.publish(
                Notice(
                    farmID: client.farm,
                    deviceID: client.device,
                    cursor: Cursor(epoch: replica.epoch, seq: head).description,
                    collections: [],
                    count: report.added + report.updated,
                    at: serverTime
                ),
                inline: nil
            )
        }
        return JSONBody.response(["status": "ok", "synced_at": .string(serverTime)])
    }

    /// The elements of a blob's lists, at the top and one object down (`feed.purchases`).
    static func recordCount(_ blob: JSONObject) -> Int {
        blob.reduce(0) { total, entry in
            switch entry.value {
            case .array(let items): total + items.count
            case .object(let nested): total + nested.reduce(0) { $0 + ($1.value.arrayValue?.count ?? 0) }
            default: total
            }
        }
    }

    /// Runs a store write; data the store refuses is a 422.
    private func storing<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ReplicaError where error.code == .badData || error.code == .invalidName {
            throw APIError.unprocessable(error.message)
        }
    }

    /// The client of a legacy request: a token of ours (the farm from `?farmId=` or its only farm),
    /// or, when the server trusts it, an access token of the EGGlogU backend (the farm from its claim).
    func legacyClient(_ request: Request) async throws -> LegacyClient {
        let token = try bearerToken(request)
        let wanted = request.uri.queryParameters.get("farmId").map { String($0) }
        if let appTokens, AppTokenVerifier.looksLikeAppToken(token) {
            let claims = try appTokens.verify(token)
            if let wanted, wanted != claims.farm {
                throw APIError.forbidden("the token does not grant farm \(wanted)")
            }
            let user = Self.originName(claims.user)
            return LegacyClient(farm: claims.farm, author: .browser(prefix: "web:\(user)/"), device: "web:\(user)")
        }
        let claims = try await authenticate(token: token)
        guard let farm = wanted ?? (claims.farms.count == 1 ? claims.farms[0] : nil) else {
            throw APIError.unprocessable("the token grants several farms: name one with ?farmId=")
        }
        try await authorize(claims, farm: farm)
        return LegacyClient(farm: farm, author: .device(claims.subject), device: claims.subject)
    }

    /// A user id fit for an origin: as it is when short and printable, else a hash of it.
    static func originName(_ user: String) -> String {
        if user.utf8.count <= 128, user.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) { return user }
        return String(ContentHash.of(parts: [user]).prefix(24))
    }

    /// `POST /api/v1/auth/renew`: a fresh token, with the same subject and lifetime, for a valid
    /// one. It grants the farms of the old one where the device was not revoked: a renewal never
    /// brings back a farm that was taken away.
    func renew(_ request: Request, context: some RequestContext) async throws -> Response {
        let minted = try await renewed(try await authenticate(request))
        return JSONBody.response([
            "token": .string(minted.token),
            "expiresAt": .string(Timestamp(milliseconds: Int64(minted.claims.expiresAt.timeIntervalSince1970 * 1000)).iso8601),
        ])
    }

    /// A fresh token for a verified one, without the HTTP envelope.
    func renewed(_ claims: TokenClaims) async throws -> (token: String, claims: TokenClaims) {
        var kept: [String] = []
        for farm in claims.farms where try await !isRevoked(claims, farm: farm) { kept.append(farm) }
        let farms = kept
        guard !farms.isEmpty else { throw APIError.unauthorized("the token was revoked") }
        let lifetime = max(60, claims.expiresAt.timeIntervalSince(claims.issuedAt))
        let minted = try await authority.mint(subject: claims.subject, farms: farms, lifetime: lifetime)
        try await registry.register(device: claims.subject, farms: farms)
        return minted
    }
}

extension APIError {
    /// A body the legacy endpoint cannot use: 422, as the app's backend answers validation errors.
    static func unprocessable(_ message: String) -> APIError { APIError(.unprocessableContent, "unprocessable", message) }
}

/// Answers errors on the legacy routes the way the app's backend did: `{"detail": message}` (with
/// the code beside it), and 422 for a body it cannot use, which the web client shows to its user.
struct LegacyErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let failure: APIError
        do {
            return try await next(request, context)
        } catch let caught as APIError {
            failure = caught
        } catch let caught as any HTTPResponseError {
            failure = APIError(caught.status, "http-\(caught.status.code)", caught.status.reasonPhrase)
        } catch let caught as ReplicaError where APIError(storage: caught) != nil {
            failure = APIError(storage: caught)!
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            failure = APIError(.internalServerError, "internal", "the server failed to handle the request")
        }
        let status: HTTPResponse.Status = failure.status == .badRequest ? .unprocessableContent : failure.status
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        headers.append(contentsOf: failure.headers)
        let body = JSONBody.encode(["detail": .string(failure.message), "error": .string(failure.code)])
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
