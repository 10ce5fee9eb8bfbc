import EggloguCore
import EggloguHTTP
import EggloguJSON
import EggloguProtocol
import EggloguStore
import Hummingbird
import Logging

extension SyncServer {
    /// `POST /api/v1/sync/delta`: merge a device's changes and answer with what it has not seen.
    func push(_ request: Request, context: some RequestContext) async throws -> Response {
        let claims = try await authenticate(request)
        return try await withBody(request) { body in
            JSONBody.response(try await push(body, claims: claims, logger: context.logger))
        }
    }

    /// A push without its HTTP envelope: checks, merges, publishes the farm's notice, and writes the answer.
    func push(_ body: JSONValue, claims: TokenClaims, logger: Logger) async throws -> [UInt8] {
        let push: PushRequest
        do {
            push = try PushRequest(json: body)
        } catch {
            throw APIError.badRequest(error.message)
        }
        let records = push.changes.reduce(0) { $0 + $1.records.count }
        guard records <= configuration.maxRecordsPerPush else {
            throw APIError.tooManyRecords(records, limit: configuration.maxRecordsPerPush)
        }
        try await authorize(claims, farm: push.farmID)
        // Who pushes is the token's device: a body naming another (or the server) is refused.
        guard push.deviceID == claims.subject else {
            throw APIError(.forbidden, "device-mismatch", "the token is device \(claims.subject)'s; the body names \(push.deviceID)")
        }
        let replica = try await farmStore(push.farmID)
        let since = try await position(push.since, in: replica)
        let batch = push.changes.map { (collection: $0.collection, records: $0.records) }
        let options = RemoteMergeOptions(defaultOrigin: claims.subject, rejectsFutureTimestamps: true, fromUpstream: false)
        let result = try await replica.mergePush(batch, options: options, after: since, limit: configuration.defaultPageSize)
        let report = result.report
        metrics.merged(
            farm: push.farmID,
            accepted: report.accepted - report.superseded.count,
            rejected: report.rejected.count + report.superseded.count,
            conflicts: report.conflicts,
            head: result.page.cursor
        )
        if report.changed > 0, let notices {
            let collections = Array(Set(push.changes.map(\.collection))).sorted()
            let notice = Notice(
                farmID: push.farmID,
                deviceID: claims.subject,
                cursor: Cursor(epoch: replica.epoch, seq: result.head).description,
                collections: collections,
                count: report.accepted - report.superseded.count,
                at: serverTime
            )
            // More changes than fit a notice are not read at all.
            let fits = result.head - result.previousHead <= MergedPush.ownChangesLimit
            let inline = fits ? await inline(notice, from: result.previousHead, read: result.ownChanges, in: replica, logger: logger) : nil
            notices.publish(notice, inline: inline)
        }
        // After the notice: the other devices need not wait for this once-a-minute write.
        await seen(farm: push.farmID, device: claims.subject, logger: logger)
        // The ones the device retries come first, so a capped list never hides one of them.
        let rejected =
            report.rejected.sorted { ($0.reason == .timestampInFuture) && ($1.reason != .timestampInFuture) }
            .map { Rejection(collection: $0.collection, id: $0.id, reason: $0.reason) }
            + report.superseded.map { Rejection(collection: $0.collection, id: $0.id, reason: .superseded) }
        return write(result.page, epoch: replica.epoch, accepted: report.accepted - report.superseded.count, rejected: rejected)
    }

    /// `notice` with every change after `previousHead` inline, or nil when they exceed
    /// ``Notice/inlineLimit``. They are the page the store `read` in the merge's transaction, or are
    /// read now (from any store); then changes another push made since are included up to the
    /// page's cursor: what counts is that nothing after `previousHead` is left out.
    private func inline(
        _ notice: Notice,
        from previousHead: Int64,
        read: ChangePage?,
        in replica: any FarmStore,
        logger: Logger
    ) async -> [UInt8]? {
        guard configuration.noticeInlineBytes > 0 else { return nil }
        let page: ChangePage
        do {
            if let read { page = read } else { page = try await replica.changes(after: previousHead, limit: MergedPush.ownChangesLimit) }
        } catch {
            logger.debug("notice sent without its changes", metadata: ["error": "\(error)"])
            return nil
        }
        guard !page.hasMore else { return nil }
        var notice = notice
        notice.cursor = Cursor(epoch: replica.epoch, seq: page.cursor).description
        return notice.bytes(
            before: Cursor(epoch: replica.epoch, seq: previousHead).description,
            changes: page.changes.map { ($0.collection, $0.body) },
            limit: min(configuration.noticeInlineBytes, Notice.inlineLimit)
        )
    }

    /// Reads a request's JSON body within the server's limits and hands it to `handle`. A body
    /// larger than ``SyncServerConfiguration/heavyBodyBytes`` (or of unknown length) is read and
    /// handled only while one of the few heavy-request permits is held.
    func withBody(_ request: Request, _ handle: (JSONValue) async throws -> Response) async throws -> Response {
        let length = request.headers[.contentLength].flatMap { Int($0) }
        guard length.map({ $0 > configuration.heavyBodyBytes }) ?? true else { return try await handle(try await body(of: request)) }
        return try await heavyRequests.run { try await handle(try await body(of: request)) }
    }

    private func body(of request: Request) async throws -> JSONValue {
        try await JSONBody.read(request, limit: configuration.maxBodyBytes, maxValues: configuration.maxJSONValues)
    }

    /// `GET /api/v1/sync/delta?farmId=F&since=CURSOR&limit=N`: a page of changes.
    func pull(_ request: Request, context: some RequestContext) async throws -> Response {
        let claims = try await authenticate(request)
        let query = request.uri.queryParameters
        guard let farm = query.get("farmId") else { throw APIError.badRequest("farmId is required") }
        let since = query.get("since").flatMap { $0.isEmpty ? nil : String($0) }
        let answer = try await pull(
            farm: String(farm),
            since: since,
            limit: query.get("limit").map { String($0) },
            claims: claims,
            logger: context.logger
        )
        return JSONBody.response(answer)
    }

    /// A pull without its HTTP envelope; `limit` is the query's text.
    func pull(farm: String, since: String?, limit text: String?, claims: TokenClaims, logger: Logger) async throws -> [UInt8] {
        try await authorize(claims, farm: farm)
        var limit = configuration.defaultPageSize
        if let text {
            guard let n = Int(text), (1...5_000).contains(n) else { throw APIError.badRequest("limit must be 1 to 5000") }
            limit = n
        }
        let replica = try await farmStore(farm)
        let after = try await position(since, in: replica)
        let page = try await replica.changes(after: after, limit: limit)
        await seen(farm: farm, device: claims.subject, logger: logger)
        return write(page, epoch: replica.epoch)
    }

    /// Where `since` points in the farm's change sequence: a cursor of this database, an ISO-8601
    /// time (changes received at or after it), or the beginning.
    func position(_ since: String?, in replica: any FarmStore) async throws -> Int64 {
        guard let since else { return 0 }
        if let cursor = Cursor(since) {
            // A cursor beyond the newest change is refused the same way, inside the read or write
            // that uses it (``ReplicaError/Code/cursorAhead``).
            guard cursor.epoch == replica.epoch else { throw APIError.resyncRequired }
            return cursor.seq
        }
        if let time = Timestamp(iso8601: since) {
            return try await replica.sequence(receivedBefore: time)
        }
        throw APIError.badRequest("since must be a cursor <epoch>:<seq>, an ISO-8601 time, or null")
    }

    /// Records when a device was last seen, best effort: on a full disk a pull still succeeds.
    func seen(farm: String, device: String, logger: Logger) async {
        do {
            try await registry.touch(farm: farm, device: device)
        } catch {
            logger.warning("cannot record when the device was last seen", metadata: ["farm": "\(farm)", "device": "\(device)", "error": "\(error)"])
        }
    }

    private func write(_ page: ChangePage, epoch: String, accepted: Int? = nil, rejected: [Rejection]? = nil) -> [UInt8] {
        var writer = SyncResponseWriter()
        for change in page.changes {
            writer.append(collection: change.collection, record: change.body.utf8)
        }
        return writer.finish(
            cursor: Cursor(epoch: epoch, seq: page.cursor),
            hasMore: page.hasMore,
            head: page.head,
            serverTime: serverTime,
            accepted: accepted,
            rejected: rejected.map { Array($0.prefix(configuration.maxListedRejections)) },
            rejectedCount: rejected?.count
        )
    }
}

extension APIError {
    /// A request holding more records than the server takes at once.
    static func tooManyRecords(_ count: Int, limit: Int) -> APIError {
        APIError(.contentTooLarge, "too-many-records", "the request holds \(count) records; the limit is \(limit) per request")
    }

    static let resyncRequired = APIError(
        .gone,
        "resync-required",
        "the server was restored from a backup: pull everything again and push what you have",
        reason: SyncTransportError.ResyncReason.restored.rawValue
    )

    static let historyPurged = APIError(
        .gone,
        "resync-required",
        "the server has forgotten deletions older than this cursor: drop what it has already, keep your unpushed changes, pull everything",
        reason: SyncTransportError.ResyncReason.historyPurged.rawValue
    )
}
