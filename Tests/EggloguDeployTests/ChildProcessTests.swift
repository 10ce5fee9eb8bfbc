import EggloguTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The spawner every test uses to run programs; if it is wrong, so is every exit status they check.
@Suite struct ChildProcessTests {
    let directory = TemporaryDirectory()

    @Test func standardStreamsGoToTheGivenFilesAndTheExitStatusComesBack() throws {
        let input = directory.file("in")
        try "hello\n".write(toFile: input, atomically: true, encoding: .utf8)
        let child = try ChildProcess(
            "/bin/sh",
            ["-c", "cat; echo oops >&2; exit 3"],
            stdin: input,
            stdout: directory.file("out"),
            stderr: directory.file("err")
        )
        let ending = child.waitForExit()
        #expect(ending.status == 3)
        #expect(!ending.signaled)
        #expect(!child.isRunning)
        #expect(try String(contentsOfFile: directory.file("out"), encoding: .utf8) == "hello\n")
        #expect(try String(contentsOfFile: directory.file("err"), encoding: .utf8) == "oops\n")
    }

    @Test func aSignalIsReportedAsSuch() throws {
        let child = try ChildProcess("/bin/sleep", ["30"])
        #expect(child.isRunning)
        child.send(SIGKILL)
        let ending = child.waitForExit()
        #expect(ending == (SIGKILL, true))
        child.terminate()
    }

    @Test func theEnvironmentIsExactlyTheOneGiven() throws {
        let out = directory.file("env")
        let child = try ChildProcess("/usr/bin/env", [], environment: ["ONLY": "this one"], stdout: out)
        #expect(child.waitForExit() == (0, false))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "ONLY=this one\n")
    }

    /// A child that inherited a blocked SIGTERM could not be stopped by the tests that start it.
    @Test func theChildStartsWithNoSignalBlocked() throws {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let out = directory.file("status")
        let child = try ChildProcess("/bin/grep", ["^SigBlk:", "/proc/self/status"], stdout: out)
        #expect(child.waitForExit() == (0, false))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "SigBlk:\t0000000000000000\n")
    }

    /// A socket the test process held without close-on-exec, such as a port being probed, once
    /// stayed bound in a broker started at that moment, and another broker could not take the port.
    @Test func theChildInheritsOnlyItsStandardStreams() throws {
        let held = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(held >= 0)
        defer { close(held) }
        let child = try ChildProcess("/bin/sh", ["-c", "[ ! -e /proc/self/fd/\(held) ]"])
        #expect(child.waitForExit() == (0, false), "the child had descriptor \(held) open")
    }

    @Test func aMissingProgramIsAnError() {
        #expect(throws: ChildProcessError.self) {
            try ChildProcess(directory.file("no-such-program"), [])
        }
    }
}
