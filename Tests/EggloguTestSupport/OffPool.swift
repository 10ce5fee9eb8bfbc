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

/// Like ``offPool(_:)``, on a thread niced to 10: heavy work (megabytes of JSON, say) yields to the
/// other tests of the run, and so do the processes it starts, which inherit the priority.
public func niced<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await offPool {
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        return try body()
    }
}

/// Waits until `condition` holds, checking every `interval` without holding a thread; the time it
/// took, or nil after `timeout`. It checks once more at the end, so a test process stalled by its
/// neighbours does not fail for that alone.
public func waitFor(
    timeout: TimeInterval,
    every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> TimeInterval? {
    let start = Date()
    while Date().timeIntervalSince(start) < timeout {
        if try await condition() { return Date().timeIntervalSince(start) }
        try? await Task.sleep(for: interval)
    }
    return try await condition() ? Date().timeIntervalSince(start) : nil
}

/// Whether `condition` comes to hold within `timeout` (see ``waitFor(timeout:every:_:)``).
public func eventually(timeout: TimeInterval, _ condition: () async throws -> Bool) async rethrows -> Bool {
    try await waitFor(timeout: timeout, condition) != nil
}
