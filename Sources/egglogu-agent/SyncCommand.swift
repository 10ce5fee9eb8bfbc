import ArgumentParser
import EggloguAgentSync
import EggloguCLI
import EggloguJSON
import EggloguProtocol
import EggloguStore
import EggloguSyncClient
import Foundation

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Run one full sync with the server: push what is queued, pull what changed.",
        discussion: """
            Exits 0 after a complete cycle. When the server cannot be reached (69) or refuses the token (77), \
            nothing queued is lost: it goes out with the next sync. The token is renewed once two thirds of its \
            lifetime have passed and stored where it was read. On a terminal, a long sync (a first one, a \
            resync) shows its progress on standard error.
            """
    )

    @OptionGroup var options: ReplicaOptions

    @Option(name: .customLong("server-url"), help: "The sync server, e.g. http://127.0.0.1:8080 (EGGLOGU_SERVER_URL).")
    var serverURL: String?

    @Option(name: .customLong("token-file"), help: "A file holding the bearer token (EGGLOGU_TOKEN_FILE; or EGGLOGU_TOKEN).")
    var tokenFile: String?

    @Option(name: .customLong("ca-file"), help: "A PEM CA bundle to trust besides the system roots (EGGLOGU_SERVER_CA_FILE).")
    var caFile: String?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() async throws {
        let (replica, engine, client, line) = try await reportingFailures { () async throws -> (Replica, AgentSync, SyncClient, ProgressLine) in
            let flags = ["EGGLOGU_SERVER_URL": serverURL, "EGGLOGU_TOKEN_FILE": tokenFile, "EGGLOGU_SERVER_CA_FILE": caFile]
            let config = try options.config(for: .sync, flags: flags)
            guard let url = config.serverURL, let token = config.token else {
                throw CommandFailure(Sysexits.config, "no server or token")
            }
            let replica = try await options.open(create: true, config: config)
            guard let farm = replica.farmID ?? config.replica.farmID else {
                throw CommandFailure(Sysexits.config, "the replica has no farm: pass --farm-id or set EGGLOGU_FARM_ID")
            }
            let client: SyncClient
            do {
                client = try SyncClient(configuration: .init(serverURL: url, caFile: config.serverCAFile))
            } catch let error as SyncTransportError {
                throw CommandFailure(Sysexits.config, error.message)
            }
            let line = ProgressLine("syncing")
            let engine = AgentSync(
                replica: replica,
                farm: farm,
                transport: client,
                token: token,
                progress: { progress in
                    line.update(done: progress.pulled, total: progress.remaining.map { progress.pulled + $0 }, bytes: progress.bytes)
                }
            )
            return (replica, engine, client, line)
        }
        let result: Result<SyncSummary, any Error>
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            result = .success(try await engine.sync())
        } catch {
            result = .failure(error)
        }
        line.finish()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        await client.shutdown()
        try await reportingFailures {
            let summary: SyncSummary
            do {
                summary = try result.get()
            } catch let error as AgentSyncError {
                let code: ExitCode =
                    switch error.kind {
                    case .unavailable: Sysexits.unavailable
                    case .unauthorized, .forbidden: Sysexits.noPermission
                    default: Sysexits.protocolError
                    }
                let queued = await (try? replica.status().unpushed) ?? 0
                throw CommandFailure(code, "\(error.message) (\(queued) changes stay queued)")
            }
            if let problem = summary.renewalProblem {
                FileHandle.standardError.write(Data("egglogu-agent: warning: the renewed token was not stored: \(problem)\n".utf8))
            }
            report(summary, seconds: seconds)
        }
    }

    private func report(_ summary: SyncSummary, seconds: Double) {
        if json {
            let value: JSONValue = [
                "pushed": .number(JSONNumber(summary.pushed)), "pulled": .number(JSONNumber(summary.pulled)),
                "rejected": .array(
                    summary.rejected.map {
                        ["collection": .string($0.collection), "id": $0.id.map(JSONValue.string) ?? .null, "reason": .string($0.reason.rawValue)]
                    }
                ),
                "conflicts": .number(JSONNumber(summary.conflicts)), "resynced": .bool(summary.resynced),
                "dropped": summary.dropped.map { .number(JSONNumber($0)) } ?? .null,
                "renewed": .bool(summary.renewed), "cursor": summary.cursor.map(JSONValue.string) ?? .null,
                "bytes": .number(JSONNumber(summary.bytes)), "seconds": .number(JSONNumber((seconds * 1000).rounded() / 1000)),
            ]
            say(value.jsonText())
            return
        }
        var line = "synced: \(summary.pushed) pushed, \(summary.pulled) pulled, \(summary.conflicts) conflicts"
        if !summary.rejected.isEmpty {
            line +=
                ", \(summary.rejected.count) refused ("
                + summary.rejected.prefix(5).map { "\($0.collection)/\($0.id ?? "?"): \($0.reason)" }.joined(separator: ", ") + ")"
        }
        if let dropped = summary.dropped {
            line +=
                "; the server had forgotten old deletions, so everything was pulled again and \(dropped) records it no longer has were dropped here"
        } else if summary.resynced {
            line += "; the server was restored from a backup, so everything was exchanged again"
        }
        if summary.renewed {
            line +=
                summary.renewalPersisted
                ? "; token renewed" : "; token renewed for this run only (set EGGLOGU_TOKEN_FILE or EGGLOGU_RENEWED_TOKEN_FILE to keep it)"
        }
        say(line)
    }
}
