import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// Sees a record arrive in another process's replica, so the figure is the moment the record is
/// committed there, not a store round trip later.
///
/// It waits on inotify for the replica's WAL to be written and then looks, again and again at
/// 20 µs intervals for 2 ms after each write (a commit publishes itself in SQLite's shared index a
/// moment after its last WAL write, which inotify does not see). Between writes it sleeps, so the
/// bench does not take a core from the agents it measures on a small machine. `busy` keeps the
/// older way, a read every 50 µs, for comparison.
final class Arrival {
    private let queue: DatabaseQueue
    private let busy: Bool
    private let inotify: Int32

    init(path: String, busy: Bool = false) throws {
        var configuration = Configuration()
        configuration.readonly = true
        queue = try DatabaseQueue(path: path, configuration: configuration)
        self.busy = busy
        inotify = busy ? -1 : inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if !busy {
            guard inotify >= 0, inotify_add_watch(inotify, path + "-wal", UInt32(IN_MODIFY)) >= 0 else {
                throw BenchError("cannot watch \(path)-wal: \(String(cString: strerror(errno)))")
            }
        }
    }

    deinit {
        if inotify >= 0 { close(inotify) }
    }

    /// Returns once `flocks/id` is in the replica; throws after 30 s.
    func wait(for id: String, since start: DispatchTime) throws {
        var lookUntil: UInt64 = 0
        while try !arrived(id) {
            let now = DispatchTime.now().uptimeNanoseconds
            if Double(now - start.uptimeNanoseconds) > 30e9 { throw BenchError("\(id) never arrived") }
            if busy {
                usleep(50)
            } else if now < lookUntil {
                usleep(20)
                if drain() { lookUntil = DispatchTime.now().uptimeNanoseconds + 2_000_000 }
            } else {
                var fd = pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)
                _ = poll(&fd, 1, 100)
                if drain() { lookUntil = DispatchTime.now().uptimeNanoseconds + 2_000_000 }
            }
        }
    }

    private func arrived(_ id: String) throws -> Bool {
        try queue.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM record WHERE collection = 'flocks' AND id = ?", arguments: [id]) != nil
        }
    }

    /// Reads every queued event; true when there was one.
    private func drain() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var any = false
        while buffer.withUnsafeMutableBytes({ read(inotify, $0.baseAddress, $0.count) }) > 0 { any = true }
        return any
    }
}
