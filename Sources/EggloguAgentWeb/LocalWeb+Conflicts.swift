import EggloguCore
import EggloguHTTP
import EggloguJSON
import EggloguStore
import Hummingbird

extension LocalWeb {
    /// `GET /api/conflicts[?all=1]`: unresolved conflicts (all with `all`), newest first.
    func conflicts(_ request: Request) async throws -> Response {
        let all = ["1", "true", "yes"].contains(request.uri.queryParameters["all"].map(String.init) ?? "")
        return try await revalidated(request, variant: all ? "all" : "open") {
            let entries = try await Self.answer { try await replica.conflicts(includeResolved: all) }
            return [
                "unresolved": .number(JSONNumber(entries.filter { !$0.isResolved }.count)),
                "conflicts": .array(entries.map { ConflictView(entry: $0).json }),
            ]
        }
    }

    /// `GET /api/conflicts/{id}`: one conflict (a unique id prefix of 4 or more characters will do).
    func conflict(_ id: String) async throws -> Response {
        let entry = try await Self.answer { try await replica.conflict(id) }
        guard case .object(var view) = ConflictView(entry: entry).json else { return JSONBody.response(.null) }
        view["entry"] = .object(entry.record)
        return JSONBody.response(.object(view))
    }

    /// `POST /api/conflicts/{id}/resolve` with `{"choice": "keep-mine" | "accept-theirs"}`.
    func resolve(_ id: String, _ request: Request) async throws -> Response {
        let body = try await object(request)
        let choices = ConflictEntry.Resolution.Choice.allCases.map(\.rawValue)
        guard let text = body["choice"]?.stringValue, let choice = ConflictEntry.Resolution.Choice(rawValue: text) else {
            throw APIError(.badRequest, "bad-choice", "\"choice\" must be one of: \(choices.joined(separator: ", "))")
        }
        let result = try await Self.answer { try await replica.resolve(id, choice: choice) }
        onLocalChange()
        let entry = result.entry
        let republished: JSONValue
        switch result.republished {
        case nil: republished = .null
        case let version? where version.isDeleted: republished = "deleted-again"
        case _? where entry.winner.isDeleted: republished = "restored"
        case _?: republished = "updated"
        }
        monitor.record("resolved", "\(entry.collection)/\(entry.recordID): \(choice.rawValue)")
        return JSONBody.response(["conflict": ConflictView(entry: entry).json, "republished": republished])
    }
}
