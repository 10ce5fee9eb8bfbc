import EggloguStore
import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Synchronization
import Testing

@testable import EggloguAgentService

@Suite(.ownThreads) struct AgentMonitorTests {
    final class Clock: Sendable {
        let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    }

    @Test func repeatedEventsCollapseAndOnlyTheLatestFiftyStay() {
        let monitor = AgentMonitor()
        for _ in 0..<3 { monitor.record("sync-failed", "server unreachable") }
        monitor.record("sync", "pushed 1, pulled 0")
        #expect(monitor.events.map(\.kind) == ["sync", "sync-failed"])
        #expect(monitor.events.last?.repeats == 3)
        for n in 0..<60 { monitor.record("sync", "pushed \(n), pulled 0") }
        #expect(monitor.events.count == 50)
        #expect(monitor.events.first?.message == "pushed 59, pulled 0")
    }

    @Test func propagationDelayRunsFromTheNoticeToTheEndOfThePull() async throws {
        let clock = Clock()
        let monitor = AgentMonitor(now: { clock.now.withLock { $0 } })
        let replica = try await ReplicaLab().open("a")
        let sent = clock.now.withLock { $0 }
        monitor.notice(ignored: nil, sentAt: sent)
        monitor.notice(ignored: "malformed", sentAt: nil)
        clock.advance(0.2)
        monitor.pulled()
        monitor.pulled()  // nothing pending: nothing recorded
        let text = await String(decoding: monitor.render(replica: replica), as: UTF8.self)
        #expect(text.contains("egglogu_agent_propagation_delay_seconds_count 1"))
        #expect(text.contains(#"egglogu_agent_propagation_delay_seconds_bucket{le="0.25"} 1"#))
        #expect(text.contains(#"egglogu_agent_propagation_delay_seconds_bucket{le="0.1"} 0"#))
        #expect(text.contains("egglogu_agent_notices_received_total 2"))
        #expect(text.contains(#"egglogu_agent_notices_ignored_total{reason="malformed"} 1"#))
    }
}
