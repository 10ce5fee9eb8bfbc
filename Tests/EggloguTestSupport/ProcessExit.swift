import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension Process {
    /// Waits for the process with `waitpid(2)` and returns how it ended.
    ///
    /// Foundation learns of an exit when a socket it passed to the child closes. Another child
    /// started at the same moment (a long deploy script) can inherit that socket and keep it open,
    /// and `waitUntilExit()` then spins a core until that one ends too (swift-corelibs-foundation
    /// #4795). Reaping the child here does not depend on the socket.
    @discardableResult
    public func waitForExit() -> (status: Int32, signaled: Bool) {
        let pid = processIdentifier
        var raw: Int32 = 0
        while true {
            let result = waitpid(pid, &raw, WNOHANG)
            if result == pid { break }
            if result == -1 && errno != EINTR {
                // Foundation reaped it already, so its own record is complete.
                waitUntilExit()
                return (terminationStatus, terminationReason == .uncaughtSignal)
            }
            usleep(2_000)
        }
        let signal = raw & 0x7F
        return signal == 0 ? ((raw >> 8) & 0xFF, false) : (signal, true)
    }
}
