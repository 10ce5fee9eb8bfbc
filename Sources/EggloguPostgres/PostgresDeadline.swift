import EggloguStore
import PostgresNIO
import Synchronization

/// Bounds a database operation: a database that does not answer fails the request (503) instead
/// of holding it until the pool gives up.
///
/// The deadline does not wait for the operation to notice its cancellation: a task group would,
/// and a driver call that ignores cancellation (a query on a connection the server just
/// terminated) would then hold the request past the deadline, for as long as it hangs.
enum PostgresDeadline {
    static func run<T: Sendable>(within timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await race(body, timeout: timeout)
        } catch let error as PostgresTransactionError {
            throw PostgresFailure.mapped(error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? error)
        } catch {
            throw PostgresFailure.mapped(error)
        }
    }

    /// `body`'s result, or the timeout's error once `timeout` has passed, whichever comes first;
    /// `body` is cancelled when it loses, and so is the timer.
    static func race<T: Sendable>(_ body: @escaping @Sendable () async throws -> T, timeout: Duration) async throws -> T {
        let work = Task { try await body() }
        let outcome = Outcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                outcome.wait(continuation)
                let timer = Task {
                    do { try await Task.sleep(for: timeout) } catch { return }
                    outcome.finish(.failure(ReplicaError(.cannotOpen, "the database did not answer within \(timeout)")))
                    work.cancel()
                }
                Task {
                    let result = await work.result
                    timer.cancel()
                    outcome.finish(result)
                }
            }
        } onCancel: {
            work.cancel()
        }
    }

    /// Resumes its continuation once, with the first result it is given.
    private final class Outcome<T: Sendable>: Sendable {
        private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

        func wait(_ continuation: CheckedContinuation<T, any Error>) {
            self.continuation.withLock { $0 = continuation }
        }

        func finish(_ result: Result<T, any Error>) {
            continuation.withLock { pending in
                pending?.resume(with: result)
                pending = nil
            }
        }
    }
}
