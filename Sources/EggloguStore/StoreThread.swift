import Dispatch

/// Runs work that GRDB offers no async form of (opening a file, an online backup) on a dispatch
/// thread, so no synchronous SQLite call runs on Swift's cooperative pool.
enum StoreThread {
    private static let queue = DispatchQueue(label: "egglogu.store", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result(catching: body)) }
        }
    }
}
