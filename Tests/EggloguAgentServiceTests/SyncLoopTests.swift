import EggloguAgentSync
import EggloguProtocol
import EggloguTestSupport
import EggloguTestTraits
import Logging
import Synchronization
import Testing

@testable import EggloguAgentService

/// The sync loop's schedule on a manual clock with fixed jitter draws: every assertion is about
/// when requests happen in the loop's own time, never about how long the machine took.
@Suite(.ownThreads) struct SyncLoopTests {
    /// The loop under test, the device it syncs, and what its transport saw.
    final class Harness: Sendable {
        let clock = ManualClock()
        let lab: SyncLab
        let device: LabDevice
        let transport: RecordingTransport
        let state: AgentState
        let wakeup = Wakeup()
        let loop: SyncLoop<ManualClock>
        /// The ranges the loop drew jitter from, in order.
        let draws = Draws()

        /// - Parameter draw: the jitter draws; the default takes the top of a backoff's range and
        ///   17/16 of the poll interval (numbers a `Duration` holds exactly).
        init(
            pollInterval: Double = 32,
            safetyPoll: Double = 900,
            debounce: Double = 0.0625,
            draw: @escaping @Sendable (ClosedRange<Double>) -> Double = { $0 == 0.9...1.1 ? 1.0625 : $0.upperBound }
        ) async throws {
            lab = try await SyncLab()
            let clock = self.clock
            var recording: RecordingTransport?
            device = try await lab.device("gw") { inner in
                let made = RecordingTransport(inner, clock: clock)
                recording = made
                return made
            }
            transport = recording!
            let monitor = AgentMonitor()
            state = AgentState(replica: device.replica, brokerConfigured: true, monitor: monitor)
            var configuration = AgentServiceConfiguration()
            configuration.pollInterval = pollInterval
            configuration.safetyPollInterval = safetyPoll
            configuration.pushDebounce = debounce
            var logger = Logger(label: "sync-loop-test")
            logger.logLevel = .critical
            let draws = self.draws
            loop = SyncLoop(
                sync: device.sync,
                state: state,
                monitor: monitor,
                wakeup: wakeup,
                clockCorrection: ClockCorrection(),
                configuration: configuration,
                hooks: AgentHooks(),
                logger: logger,
                timing: .init(
                    clock: clock,
                    random: { range in
                        draws.append(range)
                        return draw(range)
                    }
                )
            )
        }

        /// Runs the loop while `body` drives it, then stops it.
        func running(_ body: () async throws -> Void) async throws {
            let task = Task { [loop] in try await loop.run() }
            do {
                try await body()
            } catch {
                wakeup.signal(.shutdown)
                _ = try? await task.value
                throw error
            }
            wakeup.signal(.shutdown)
            try await task.value
        }

        /// Waits until the loop sleeps again (its cycle is over), then returns the requests made so far.
        func settled() async -> [RecordingTransport.Request] {
            await clock.sleepers(atLeast: 1)
            return transport.requests
        }
    }

    @Test func startsWithACycleThenPollsAtTheIntervalWithJitter() async throws {
        let harness = try await Harness()
        try await harness.running {
            let first = await harness.settled().map(\.description)
            #expect(first == ["pull@t+0.0 seconds"])
            harness.clock.advance(by: .milliseconds(33_999))
            let early = await harness.settled().count
            #expect(early == 1, "the poll is 32 s × a draw of 17/16")
            harness.clock.advance(by: .milliseconds(1))
            let polled = await harness.settled().map(\.description)
            #expect(polled.last == "pull@t+34.0 seconds")
        }
        #expect(harness.draws.all.allSatisfy { $0 == 0.9...1.1 }, "polls draw within ±10%")
    }

    @Test func whileNoticesAndLocalWritesWakeItOnlyTheSafetyPollRemains() async throws {
        let harness = try await Harness()
        harness.state.broker(connected: true)
        try await harness.running {
            _ = await harness.settled()
            harness.clock.advance(by: .seconds(899))
            let early = await harness.settled().count
            #expect(early == 1)
            harness.clock.advance(by: .seconds(1))
            let polled = await harness.settled().map(\.description)
            #expect(polled.last == "pull@t+900.0 seconds")
        }
        #expect(harness.draws.all.isEmpty, "the safety poll has no jitter to draw")
    }

    @Test func theBrokerGoingAwayReschedulesToThePollInterval() async throws {
        let harness = try await Harness()
        harness.state.broker(connected: true)
        try await harness.running {
            _ = await harness.settled()
            harness.clock.advance(by: .seconds(100))
            harness.state.broker(connected: false)
            harness.wakeup.signal(.reschedule)
            // The loop has taken the signal once it sleeps until the new deadline.
            await harness.clock.sleeper(until: harness.clock.now.advanced(by: .seconds(34)))
            let rescheduled = await harness.settled().count
            #expect(rescheduled == 1, "a reschedule does not sync")
            harness.clock.advance(by: .seconds(34))
            let polled = await harness.settled().map(\.description)
            #expect(polled.last == "pull@t+134.0 seconds", "now + the poll interval, not the safety poll's 900 s")
        }
    }

    @Test func aWriteAfterAQuietPeriodGoesAtOnceAndTheNextWaitsForTheDebounce() async throws {
        let harness = try await Harness(debounce: 0.0625)
        try await harness.running {
            _ = await harness.settled()
            harness.clock.advance(by: .seconds(5))
            _ = try await harness.device.replica.put("flocks", ["id": "f1"])
            harness.wakeup.signal(.push)
            let first = await harness.settled().map(\.description)
            #expect(first == ["pull@t+0.0 seconds", "push@t+5.0 seconds"], "leading edge: at once")
            harness.clock.advance(by: .milliseconds(10))
            _ = try await harness.device.replica.put("flocks", ["id": "f2"])
            harness.wakeup.signal(.push)
            await harness.clock.sleepers(atLeast: 1)
            #expect(harness.transport.requests.count == 2, "the second write waits for the debounce")
            harness.clock.advance(by: .microseconds(52_500))
            let second = await harness.settled().map(\.description)
            #expect(second.last == "push@t+5.0625 seconds", "at the end of the debounce after the first push")
        }
    }

    @Test func failuresBackOffWithFullJitterUpToTheCap() async throws {
        let harness = try await Harness()
        harness.transport.failing(true)
        try await harness.running {
            var times: [String] = []
            for step in [0, 1, 2, 4, 8] {
                harness.clock.advance(by: .seconds(step))
                let requests = await harness.settled()
                times.append(requests.last!.description)
            }
            #expect(times == ["pull@t+0.0 seconds", "pull@t+1.0 seconds", "pull@t+3.0 seconds", "pull@t+7.0 seconds", "pull@t+15.0 seconds"])
            harness.transport.failing(false)
            harness.clock.advance(by: .seconds(16))
            let recovered = await harness.settled()
            #expect(recovered.last!.description == "pull@t+31.0 seconds")
        }
        let draws = harness.draws.all
        #expect(Array(draws.prefix(5)) == [0...1, 0...2, 0...4, 0...8, 0...16], "anywhere between 0 and floor·2ⁿ⁻¹")
        #expect(draws.last == 0.9...1.1, "a success goes back to the poll interval")
    }

    /// A soak in CI once waited out a backoff of minutes after a 3-second outage: every local write
    /// during the outage had been one more failed attempt, doubling the next wait.
    @Test func whileBackingOffLocalWritesWaitForTheBackoffButANoticeWakesTheLoop() async throws {
        let harness = try await Harness()
        harness.transport.failing(true)
        try await harness.running {
            _ = await harness.settled()
            harness.clock.advance(by: .milliseconds(500))
            for n in 0..<5 {
                _ = try await harness.device.replica.put("flocks", ["id": .string("f\(n)")])
                harness.wakeup.signal(.push)
            }
            let deferred = await harness.settled().map(\.description)
            #expect(deferred == ["pull@t+0.0 seconds"], "the writes wait for the backoff's end at t+1")
            harness.clock.advance(by: .milliseconds(500))
            let atTheEnd = await harness.settled().map(\.description)
            #expect(atTheEnd.last == "push@t+1.0 seconds", "\(atTheEnd)")
            harness.clock.advance(by: .milliseconds(500))
            harness.wakeup.signal(.sync)
            let woken = await harness.settled().map(\.description)
            #expect(woken.last == "push@t+1.5 seconds", "a notice does not wait: \(woken)")
            harness.transport.failing(false)
            harness.wakeup.signal(.sync)
            let recovered = await harness.settled().map(\.description)
            #expect(recovered.count == woken.count + 1 && recovered.last == "push@t+1.5 seconds", "\(recovered)")
        }
        #expect(Array(harness.draws.all.prefix(3)) == [0...1, 0...2, 0...4], "three failures, not eight")
        #expect(try await harness.device.replica.unpushed(limit: 10).isEmpty)
    }

    @Test func signalsDuringACycleQueueExactlyOneMore() async throws {
        let harness = try await Harness()
        let gate = harness.transport.holdNext()
        try await harness.running {
            await gate.reached()
            for _ in 0..<3 { harness.wakeup.signal(.sync) }
            gate.release()
            let requests = await harness.settled()
            #expect(requests.map(\.description) == ["pull@t+0.0 seconds", "pull@t+0.0 seconds"], "one in flight, one queued")
            harness.clock.advance(by: .seconds(33))
            let later = await harness.settled().count
            #expect(later == 2, "nothing else runs before the next poll")
        }
    }
}

/// The ranges jitter was drawn from.
final class Draws: Sendable {
    private let list = Mutex<[ClosedRange<Double>]>([])

    func append(_ range: ClosedRange<Double>) { list.withLock { $0.append(range) } }
    var all: [ClosedRange<Double>] { list.withLock { $0 } }
}

/// Passes requests to a transport, noting each with the time on the test's clock; it can fail
/// every request, or hold one until the test lets it go.
final class RecordingTransport: SyncTransport {
    struct Request: Sendable, CustomStringConvertible {
        let kind: String
        let at: ManualClock.Instant
        var description: String { "\(kind)@\(at)" }
    }

    /// A request held on its way.
    final class Gate: Sendable {
        private let arrived = AsyncStream<Void>.makeStream()
        private let opened = AsyncStream<Void>.makeStream()

        func reached() async { for await _ in arrived.stream { return } }
        func release() { opened.continuation.yield() }

        func hold() async {
            arrived.continuation.yield()
            for await _ in opened.stream { return }
        }
    }

    private let inner: any SyncTransport
    private let clock: ManualClock
    private let state = Mutex<(requests: [Request], failing: Bool, gate: Gate?)>(([], false, nil))

    init(_ inner: any SyncTransport, clock: ManualClock) {
        self.inner = inner
        self.clock = clock
    }

    var requests: [Request] { state.withLock { $0.requests } }

    func failing(_ on: Bool) {
        state.withLock { $0.failing = on }
    }

    /// Holds the next request until the returned gate is released.
    func holdNext() -> Gate {
        let gate = Gate()
        state.withLock { $0.gate = gate }
        return gate
    }

    func push(_ body: PushBody, token: String) async throws(SyncTransportError) -> SyncResponse {
        try await note("push")
        return try await inner.push(body, token: token)
    }

    func pull(farm: String, since: String?, limit: Int, token: String) async throws(SyncTransportError) -> SyncResponse {
        try await note("pull")
        return try await inner.pull(farm: farm, since: since, limit: limit, token: token)
    }

    func renew(token: String) async throws(SyncTransportError) -> String {
        try await inner.renew(token: token)
    }

    private func note(_ kind: String) async throws(SyncTransportError) {
        let (failing, gate) = state.withLock { state in
            state.requests.append(Request(kind: kind, at: clock.now))
            defer { state.gate = nil }
            return (state.failing, state.gate)
        }
        await gate?.hold()
        if failing { throw SyncTransportError(.unavailable, "the test made the server unreachable") }
    }
}
