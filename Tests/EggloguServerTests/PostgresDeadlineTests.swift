import EggloguStore
import EggloguTestTraits
import Foundation
import Testing

@testable import EggloguPostgres

/// A PostgreSQL operation is bounded by its deadline whatever the driver does with cancellation.
@Suite(.ownThreads) struct PostgresDeadlineTests {
    /// Returns after ten seconds and never looks at cancellation, as a driver call stuck on a
    /// connection the database terminated can.
    private static func deaf() async throws -> Int {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + 10) { done.resume() }
        }
        return 1
    }

    /// The task-group deadline this replaced waited for such a call, so a request that should
    /// have had its 503 hung for as long as the call did.
    @Test func theDeadlineDoesNotWaitForAnOperationThatIgnoresCancellation() async throws {
        let started = ContinuousClock.now
        await #expect(throws: ReplicaError.self) { try await PostgresDeadline.race(Self.deaf, timeout: .milliseconds(200)) }
        #expect(ContinuousClock.now - started < .seconds(5), "the deadline answered, not the operation")
    }

    @Test func anOperationThatAnswersInTimeGivesItsOwnResultOrError() async throws {
        #expect(try await PostgresDeadline.race({ 42 }, timeout: .seconds(30)) == 42)
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await PostgresDeadline.race({ () async throws -> Int in throw Refused() }, timeout: .seconds(30)) }
    }

    /// Cancelling the caller cancels the operation; the answer does not wait for the deadline.
    @Test func cancellingTheCallerCancelsTheOperation() async throws {
        let started = ContinuousClock.now
        let call = Task {
            try await PostgresDeadline.race(
                { () async throws -> Int in
                    try await Task.sleep(for: .seconds(30))
                    return 1
                },
                timeout: .seconds(30)
            )
        }
        try await Task.sleep(for: .milliseconds(100))
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
