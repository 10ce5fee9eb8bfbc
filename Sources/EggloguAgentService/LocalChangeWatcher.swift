import EggloguStore
import Foundation
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Wakes the sync loop when anything writes the replica (`egglogu-agent put` from a shell,
/// an import, any other process): inotify on the replica's files, so an idle agent sleeps.
final class LocalChangeWatcher: Service {
    private let replica: Replica
    private let wakeup: Wakeup
    private let logger: Logger

    init(replica: Replica, wakeup: Wakeup, logger: Logger) {
        self.replica = replica
        self.wakeup = wakeup
        self.logger = logger
    }

    func run() async throws {
        let inotify = inotify_init1(Int32(IN_CLOEXEC))
        guard inotify >= 0 else {
            logger.warning(
                "cannot watch the replica; local writes wait for the next poll",
                metadata: ["error": "\(String(cString: strerror(errno)))"]
            )
            return
        }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            close(inotify)
            return
        }
        let directory = URL(fileURLWithPath: replica.path).deletingLastPathComponent().path
        let names: Set<String> = [
            URL(fileURLWithPath: replica.path).lastPathComponent, URL(fileURLWithPath: replica.path).lastPathComponent + "-wal",
        ]
        let mask = UInt32(IN_MODIFY) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_CREATE)
        guard inotify_add_watch(inotify, directory, mask) >= 0 else {
            close(inotify)
            close(pipeEnds[0])
            close(pipeEnds[1])
            logger.warning("cannot watch the replica's directory; local writes wait for the next poll", metadata: ["directory": "\(directory)"])
            return
        }
        // A write made after the start-up sync but before the watch existed raised no event.
        if (try? await replica.unpushed(limit: 1))?.isEmpty == false { wakeup.signal(.push) }
        let stopReader = pipeEnds[0]
        let stopWriter = pipeEnds[1]
        await withGracefulShutdownHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread { [self] in
                    watch(inotify: inotify, stop: stopReader, names: names)
                    done.resume()
                }
                thread.name = "replica-watch"
                thread.start()
            }
        } onGracefulShutdown: {
            var byte: UInt8 = 1
            _ = write(stopWriter, &byte, 1)
        }
        close(inotify)
        close(stopReader)
        close(stopWriter)
    }

    private func watch(inotify: Int32, stop: Int32, names: Set<String>) {
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0), pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
        // A writer appends its commit to the WAL, syncs it, and only then publishes it in the
        // shared index (an mmap write, which inotify does not see): a check right after the last
        // event usually comes before the commit. So a write that shows nothing queued is checked
        // again, soon (a sync takes a fraction of a millisecond) and then less often.
        let rechecks = [200, 500, 1_000, 2_000, 5_000, 10_000, 40_000, 150_000, 600_000, 2_000_000]  // µs; the tail: a writer descheduled
        var pendingRechecks: ArraySlice<Int> = []
        while true {
            let ready = Self.poll(&fds, microseconds: pendingRechecks.first)
            if ready < 0 && errno != EINTR { return }
            if fds[1].revents != 0 { return }
            if ready == 0 {
                pendingRechecks = pendingRechecks.dropFirst()
                if queued() { pendingRechecks = [] }
                continue
            }
            guard fds[0].revents != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
            guard count > 0, touches(names, in: buffer, count: count) else { continue }
            pendingRechecks = queued() ? [] : rechecks[...]
        }
    }

    /// poll(2) with a timeout in microseconds (nil: none). Below a millisecond, which poll cannot
    /// wait, it sleeps and then looks without waiting.
    private static func poll(_ fds: inout [pollfd], microseconds: Int?) -> Int32 {
        guard let microseconds else { return Glibc.poll(&fds, nfds_t(fds.count), -1) }
        if microseconds >= 1_000 { return Glibc.poll(&fds, nfds_t(fds.count), Int32(microseconds / 1_000)) }
        var pause = timespec(tv_sec: 0, tv_nsec: microseconds * 1_000)
        nanosleep(&pause, nil)
        return Glibc.poll(&fds, nfds_t(fds.count), 0)
    }

    /// Wakes the loop when changes are queued; the service's own merges write the replica too,
    /// and only queued changes need a push. Read on this thread (the watcher's own, never the
    /// pool), so a check costs no hop between threads.
    private func queued() -> Bool {
        let queued = (try? replica.hasUnpushedChangesOnThisThread()) == true
        if queued { wakeup.signal(.push) }
        return queued
    }

    private func touches(_ names: Set<String>, in buffer: [UInt8], count: Int) -> Bool {
        var offset = 0
        return buffer.withUnsafeBytes { bytes in
            while offset + MemoryLayout<inotify_event>.size <= count {
                let event = bytes.load(fromByteOffset: offset, as: inotify_event.self)
                if event.len > 0 {
                    let start = offset + MemoryLayout<inotify_event>.size
                    let raw = bytes[start..<(start + Int(event.len))].prefix { $0 != 0 }
                    if names.contains(String(decoding: raw, as: UTF8.self)) { return true }
                }
                offset += MemoryLayout<inotify_event>.size + Int(event.len)
            }
            return false
        }
    }
}
