import EggloguAgentService
import EggloguTestTraits
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// An optional part that ends or fails leaves the rest of the group running until shutdown.
@Suite(.ownThreads) struct OptionalServiceTests {
    struct Failing: Service {
        struct Broken: Error {}
        func run() async throws { throw Broken() }
    }

    struct Returning: Service {
        func run() async throws {}
    }

    /// Stands for the sync loop: runs until the group shuts down, and says whether it got there.
    final class Essential: Service, Sendable {
        let reachedShutdown = Mutex(false)
        func run() async throws {
            try? await gracefulShutdown()
            reachedShutdown.withLock { $0 = true }
        }
    }

    @Test func aPartThatFailsOrReturnsDoesNotStopTheGroup() async throws {
        let ended = Mutex(0)
        let essential = Essential()
        let logger = Logger(label: "test")
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    essential,
                    OptionalService(Failing(), name: "failing", logger: logger) { ended.withLock { $0 += 1 } },
                    OptionalService(Returning(), name: "returning", logger: logger) { ended.withLock { $0 += 1 } },
                ],
                logger: logger
            )
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for _ in 0..<100 where ended.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(100))
            #expect(ended.withLock { $0 } == 2)
            #expect(!essential.reachedShutdown.withLock { $0 }, "the group is still running")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(essential.reachedShutdown.withLock { $0 })
    }
}
