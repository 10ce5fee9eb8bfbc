import Foundation
import Testing

/// Runs a suite's tests on threads of their own instead of Swift's cooperative pool.
///
/// The pool has one thread per core, two on CI. Tests that wait for child processes (the agent
/// and server binaries, mosquitto, systemd-analyze) block the thread they run on for seconds; two of
/// them at once left every other test of the run (broker probes, in-process HTTP servers) without
/// a thread until their own deadlines passed. Under this trait they block one of these threads
/// instead. Detached tasks and the servers' handlers still run on the pool.
///
/// It also names a test that runs for more than five minutes on standard error, every five
/// minutes: the runner's own output is buffered, so a hung run would otherwise not say which test
/// it waits for.
public struct OwnThreads: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        test.isSuite ? nil : self
    }

    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let watchdog = HangWatchdog(name: test.id.description, every: 300)
        defer { watchdog.cancel() }
        try await withTaskExecutorPreference(BlockingTestsExecutor.shared) { try await function() }
    }
}

/// Writes a line to standard error each time a test has run for another `every` seconds.
final class HangWatchdog {
    private let timer: any DispatchSourceTimer

    init(name: String, every seconds: Int) {
        let started = Date()
        timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + .seconds(seconds), repeating: .seconds(seconds))
        timer.setEventHandler {
            let minutes = Int(Date().timeIntervalSince(started) / 60)
            FileHandle.standardError.write(Data("still running after \(minutes) min: \(name)\n".utf8))
        }
        timer.resume()
    }

    func cancel() { timer.cancel() }
}

extension Trait where Self == OwnThreads {
    /// See ``OwnThreads``.
    public static var ownThreads: Self { OwnThreads() }
}

/// A task executor with a fixed set of threads, for test bodies that block.
final class BlockingTestsExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = BlockingTestsExecutor(threads: 24)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    private init(threads: Int) {
        for n in 0..<threads {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "blocking-tests-\(n)"
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
