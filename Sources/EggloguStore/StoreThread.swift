import Foundation
import Synchronization

/// The threads every synchronous SQLite call runs on: a fixed set, first come first served, so no
/// such call ever blocks Swift's cooperative pool, and fifty requests that all want the farm's
/// write lock wait their turn in order instead of piling up threads.
///
/// A job may block (on SQLite's write lock, an fsync): it blocks one of these threads only.
enum StoreThread {
    /// At least four, one per core above that: a long write (an import) leaves reads room.
    static let count = max(4, ProcessInfo.processInfo.activeProcessorCount)
    private static let pool = StoreThreadPool(threads: count)

    /// Runs `body` on a store thread and returns its result.
    ///
    /// `body`, and whatever it captured (a replica, a database), is released before the caller
    /// resumes: a command that returns right after its last store call closes its database first.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let once = Once(body)
        return try await withCheckedThrowingContinuation { continuation in
            pool.submit { continuation.resume(with: once.run()) }
        }
    }
}

/// A job's body, run once and dropped as it returns.
private final class Once<T: Sendable>: Sendable {
    private let body: Mutex<(@Sendable () throws -> T)?>

    init(_ body: @escaping @Sendable () throws -> T) {
        self.body = Mutex(body)
    }

    func run() -> Result<T, any Error> {
        let taken = body.withLock { body in
            defer { body = nil }
            return body
        }
        guard let taken else { return .failure(CancellationError()) }
        return Result(catching: taken)
    }
}

/// Threads that take jobs from one queue in order.
private final class StoreThreadPool: Sendable {
    /// Jobs waiting, oldest at `head`; a taken job's slot is emptied at once, so nothing it
    /// captured (a replica, a database) outlives the job.
    private struct Queue {
        var jobs: [(@Sendable () -> Void)?] = []
        var head = 0
    }

    private let queue = Mutex(Queue())
    private let ready = DispatchSemaphore(value: 0)

    init(threads: Int) {
        for n in 0..<threads {
            let thread = Thread { [self] in work() }
            thread.name = "egglogu-store-\(n)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        queue.withLock { $0.jobs.append(job) }
        ready.signal()
    }

    private func work() -> Never {
        while true {
            ready.wait()
            let job = queue.withLock { queue -> @Sendable () -> Void in
                let job = queue.jobs[queue.head]!
                queue.jobs[queue.head] = nil
                queue.head += 1
                if queue.head == queue.jobs.count {
                    queue.jobs.removeAll(keepingCapacity: true)
                    queue.head = 0
                } else if queue.head > 1_024 && queue.head * 2 > queue.jobs.count {
                    queue.jobs.removeFirst(queue.head)
                    queue.head = 0
                }
                return job
            }
            job()
        }
    }
}
