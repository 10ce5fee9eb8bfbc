import EggloguCore
import EggloguHTTP
import EggloguJSON
import EggloguStore
import Hummingbird

extension LocalWeb {
    /// `GET /api/deleted[?since=7d][&limit=50]`: soft-deleted records, newest first.
    func deleted(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let sinceText = query["since"].map(String.init) ?? "7d"
        guard let seconds = DurationText.seconds(sinceText) else {
            throw APIError(.badRequest, "bad-request", "since must be a duration such as 90s, 30m, 24h or 7d")
        }
        let limitText = query["limit"].map(String.init) ?? "100"
        guard let limit = Int(limitText), (1...1_000).contains(limit) else {
            throw APIError(.badRequest, "bad-request", "limit must be a number from 1 to 1000")
        }
        let now = replica.configuration.wallClock()
        let since = now.adding(milliseconds: -Int64(seconds * 1000))
        // The window slides: the answer may change each minute even when the replica does not.
        return try await revalidated(request, variant: "\(sinceText)-\(limit)-\(now.milliseconds / 60_000)") {
            let records = try await Self.answer { try await replica.deleted(since: since, limit: limit) }
            return ["since": .string(since.iso8601), "deleted": .array(records.map(\.json))]
        }
    }

    /// `POST /api/restore` with `{"collection": …, "id": …}`: undoes a soft delete, like `egglogu-agent restore`.
    func restore(_ request: Request) async throws -> Response {
        let body = try await object(request)
        guard let collection = body["collection"]?.stringValue, !collection.isEmpty else {
            throw APIError(.badRequest, "bad-request", "\"collection\" must be a non-empty string")
        }
        let id: String?
        switch body["id"] {
        case nil, .null?: id = nil
        case .string(let text)?: id = text
        default: throw APIError(.badRequest, "bad-request", "\"id\" must be a string")
        }
        let outcome = try await Self.answer { try await replica.restore(collection, id: id) }
        if outcome == .restored {
            onLocalChange()
            monitor.record("restored", collection + (id.map { "/\($0)" } ?? ""))
        }
        return JSONBody.response([
            "outcome": .string(outcome.rawValue), "collection": .string(collection), "id": id.map(JSONValue.string) ?? .null,
        ])
    }
}
