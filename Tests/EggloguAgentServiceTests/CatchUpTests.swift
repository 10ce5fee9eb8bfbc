import EggloguAgentSync
import EggloguJSON
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Synchronization
import Testing

@testable import EggloguAgentService

/// A long catch-up shows in the supervisor's status line, in the replica's service state (which
/// `status` and the page read) and in metrics, and disappears when the cycle ends.
@Suite(.ownThreads) struct CatchUpTests {
    @Test func aCatchUpIsReportedWhilePagesKeepComingAndClearedAfter() async throws {
        let lab = try await SyncLab()
        let device = try await lab.device("gw")
        let monitor = AgentMonitor()
        let lines = Mutex<[String]>([])
        let state = AgentState(replica: device.replica, brokerConfigured: false, monitor: monitor) { line in
            lines.withLock { $0.append(line) }
        }
        let writer = Task { await state.run() }
        defer { writer.cancel() }

        state.catchingUp(SyncProgress(pulled: 500, bytes: 180_000, remaining: 1_500, fromScratch: true))
        #expect(lines.withLock { $0.last }?.contains("catching up: 500 records pulled, about 1500 left") == true, "\(lines.withLock { $0 })")
        let metrics = String(decoding: await monitor.render(replica: device.replica), as: UTF8.self)
        #expect(metrics.contains("egglogu_agent_catchup_remaining_records 1500"), "\(metrics)")
        #expect(metrics.contains("egglogu_agent_catchup_pulled_records 500"))
        let stored = await waitFor(timeout: 5) {
            (try? await device.replica.status().service?.objectValue?["catchUp"]?.objectValue?["remaining"]) == .number(JSONNumber(1_500))
        }
        #expect(stored != nil, "the service state in the replica names the catch-up")

        state.catchingUp(SyncProgress(pulled: 2_000, bytes: 720_000, remaining: 0, fromScratch: true))
        state.caughtUp()
        #expect(lines.withLock { $0.last }?.contains("catching up") == false)
        let after = String(decoding: await monitor.render(replica: device.replica), as: UTF8.self)
        #expect(after.contains("egglogu_agent_catchup_remaining_records 0"))
        let cleared = await waitFor(timeout: 5) { (try? await device.replica.status().service?.objectValue?["catchUp"]) == .null }
        #expect(cleared != nil)
    }
}
