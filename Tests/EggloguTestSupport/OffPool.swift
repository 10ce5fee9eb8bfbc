import Foundation

/// Runs blocking work (waiting for a child process, polling with `usleep`) on a thread of its own.
///
/// Swift's cooperative pool has one thread per core (two on CI); a test that blocks one of them
/// for minutes leaves every async test of the run — broker probes, HTTP clients — short of threads.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// Waits until `condition` holds, checking every 50 ms without holding a thread; false after `timeout`.
public func eventually(timeout: TimeInterval, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let start = Date()
    while Date().timeIntervalSince(start) < timeout {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
