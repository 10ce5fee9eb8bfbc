import EggloguStore
import EggloguTestTraits
import Foundation
import Synchronization
import Testing

@testable import EggloguPostgres

/// A PostgreSQL operation is bounded by its deadline whatever the driver does with cancellation.
/// No check here reads a clock: on a loaded machine a timer's task may start seconds late, so the
/// checks are on what finished first.
@Suite(.ownThreads) struct PostgresDeadlineTests {
    /// An operation that never looks at cancellation, as a driver call stuck on a connection the
    /// database terminated can: it ends when the test lets it, or after a minute on its own.
    final class Deaf: Sendable {
        private let release = Mutex<CheckedContinuation<Void, Never>?>(nil)
        private let endedOnItsOwn = Mutex(false)

        func run() async throws -> Int {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                release.withLock { $0 = done }
                DispatchQueue.global().asyncAfter(deadline: .now() + 60) { [self] in
                    if let pending = release.withLock({ $0.take() }) {
                        endedOnItsOwn.withLock { $0 = true }
                        pending.resume()
                    }
                }
            }
            return 1
        }

        var hasEnded: Bool { endedOnItsOwn.withLock { $0 } }

        func end() { release.withLock { $0.take() }?.resume() }
    }

    /// The task-group deadline this replaced waited for such an operation, so a request that
    /// should have had its 503 hung for as long as the operation did.
    @Test func theDeadlineDoesNotWaitForAnOperationThatIgnoresCancellation() async throws {
        let deaf = Deaf()
        await #expect(throws: ReplicaError.self) { try await PostgresDeadline.race(deaf.run, timeout: .milliseconds(200)) }
        #expect(!deaf.hasEnded, "the deadline answered while the operation still ran")
        deaf.end()
    }

    @Test func anOperationThatAnswersInTimeGivesItsOwnResultOrError() async throws {
        #expect(try await PostgresDeadline.race({ 42 }, timeout: .seconds(30)) == 42)
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await PostgresDeadline.race({ () async throws -> Int in throw Refused() }, timeout: .seconds(30)) }
    }

    /// Cancelling the caller cancels the operation: it ends with the cancellation, not its result
    /// and not the deadline's error.
    @Test func cancellingTheCallerCancelsTheOperation() async throws {
        let call = Task {
            try await PostgresDeadline.race(
                { () async throws -> Int in
                    try await Task.sleep(for: .seconds(600))
                    return 1
                },
                timeout: .seconds(600)
            )
        }
        try await Task.sleep(for: .milliseconds(100))
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
    }
}
