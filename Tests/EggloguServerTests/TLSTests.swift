import EggloguAgentSync
import EggloguStore
import EggloguSyncClient
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

/// HTTPS with a private CA: the agent trusts it only through `EGGLOGU_SERVER_CA_FILE`.
@Suite(.ownThreads) struct TLSTests {
    @Test func theAgentSyncsOverHTTPSWithTheCAFileAndRefusesWithoutIt() async throws {
        let certificates = TemporaryDirectory()
        try Certificates.make(in: certificates)
        try await TestServer.with(configure: {
            $0.tlsCertificateFile = certificates.file("server.pem")
            $0.tlsKeyFile = certificates.file("server.key")
        }) { server in
            let url = "https://127.0.0.1:\(server.port)"
            let lab = ReplicaLab()
            var configuration = ReplicaConfiguration()
            configuration.deviceID = "gw-tls"
            let replica = try await Replica.open(path: lab.directory.file("a.sqlite"), configuration: configuration)
            try await replica.put("flocks", ["id": "over-tls"])
            let token = TokenStore(token: try await server.token(device: "gw-tls"), origin: .ephemeral)

            let untrusting = try SyncClient(configuration: .init(serverURL: url))
            await #expect {
                try await AgentSync(replica: replica, farm: "farm-1", transport: untrusting, token: token).sync()
            } throws: { error in
                (error as? AgentSyncError)?.kind == .unavailable
            }
            await untrusting.shutdown()
            await #expect(try replica.status().unpushed == 2)

            let trusting = try SyncClient(configuration: .init(serverURL: url, caFile: certificates.file("ca.pem")))
            let summary = try await AgentSync(replica: replica, farm: "farm-1", transport: trusting, token: token).sync()
            await trusting.shutdown()
            #expect(summary.pushed == 2)
            await #expect(try replica.status().unpushed == 0)
        }
    }
}
