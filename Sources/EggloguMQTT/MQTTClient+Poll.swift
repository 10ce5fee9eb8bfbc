import CMosquitto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension MQTTClient {
    /// One turn of the network loop. `mosquitto_loop` waits with select(2), so it refuses
    /// (`MOSQ_ERR_INVAL`) when its socket, or the socket pair it wakes itself with, is numbered
    /// 1,024 or above, and a process with many files and connections open (a busy server, a test
    /// run) gets such numbers. Then the same work is done with poll(2); as poll cannot see the
    /// wake-up libmosquitto sends itself when another thread queues a message, it waits at most
    /// ``highSocketWaitMilliseconds`` at a time.
    func loopOnce(timeoutMilliseconds: Int32) -> MosquittoResult {
        let socket = mosquitto_socket(handle)
        guard socket >= 0 else { return .noConnection }
        if socket < Self.selectLimit {
            let result = MosquittoResult(mosquitto_loop(handle, timeoutMilliseconds, 1))
            guard result == .invalid else { return result }
        }
        return pollOnce(socket: socket, timeoutMilliseconds: timeoutMilliseconds)
    }

    private func pollOnce(socket: Int32, timeoutMilliseconds: Int32) -> MosquittoResult {
        var events = Int16(POLLIN)
        if mosquitto_want_write(handle) { events |= Int16(POLLOUT) }
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        let ready = poll(&descriptor, 1, min(timeoutMilliseconds, Self.highSocketWaitMilliseconds))
        if ready < 0 { return Glibc.errno == EINTR ? .success : .errno }
        if ready > 0 {
            if descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let read = MosquittoResult(mosquitto_loop_read(handle, 1))
                if read != .success || mosquitto_socket(handle) < 0 { return read }
            }
            if descriptor.revents & Int16(POLLOUT) != 0 {
                let written = MosquittoResult(mosquitto_loop_write(handle, 1))
                if written != .success || mosquitto_socket(handle) < 0 { return written }
            }
        }
        return MosquittoResult(mosquitto_loop_misc(handle))
    }

    /// The first socket number select(2) cannot watch (`FD_SETSIZE`).
    static let selectLimit: Int32 = 1_024
    /// How long a queued message may wait on a socket that select(2) cannot watch.
    static let highSocketWaitMilliseconds: Int32 = 10
}
