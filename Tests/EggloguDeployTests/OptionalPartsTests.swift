import EggloguTestSupport
import EggloguTestTraits
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The agent's optional parts may stop without stopping it: with no inotify instance left for its
/// user (the kernel's `max_user_instances`, a real limit on busy hosts), the watcher cannot start,
/// and the agent still syncs local writes by polling.
@Suite(.ownThreads) struct OptionalPartsTests {
    static let nobody: UInt32 = 65534
    static let asNobody = ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups"]

    /// Takes every inotify instance its user may have, then waits to be killed.
    static let holder = """
        import ctypes, time
        libc = ctypes.CDLL(None, use_errno=True)
        held = []
        while True:
            fd = libc.inotify_init1(0)
            if fd < 0:
                break
            held.append(fd)
        print("held", len(held), flush=True)
        time.sleep(600)
        """

    @Test(
        .enabled(
            if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
                && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"),
            "needs root, setpriv and python3: it runs the agent as another user whose inotify instances are all taken"
        )
    )
    func anAgentWhoseWatcherCannotStartStillSyncsByPolling() throws {
        let setup = try AgentStartupTests.Setup()
        try setup.writeConfig()
        for path in [setup.directory.path, setup.directory.file("token"), setup.config] {
            #expect(chown(path, Self.nobody, Self.nobody) == 0)
        }
        #expect(
            try Subprocess.run("egglogu-agent", ["put", "--config", setup.config, "flocks", #"{"id":"before"}"#], in: setup.directory).status == 0
        )

        let holder = ChildService("/usr/bin/setpriv", Self.asNobody + ["/usr/bin/python3", "-c", Self.holder], in: setup.directory)
        try holder.start(waitingFor: "held")
        defer { holder.stop(graceful: false) }
        let agent = ChildService(
            "/usr/bin/setpriv",
            Self.asNobody + [Subprocess.executable("egglogu-agent"), "run", "--config", setup.config],
            in: setup.directory
        )
        try agent.start()
        defer { agent.stop() }
        #expect(setup.eventually { agent.stderr.contains("cannot watch the replica") }, "\(agent.stderr)")
        #expect(
            setup.eventually { agent.stderr.contains("an optional part stopped") && agent.stderr.contains("local-change watcher") },
            "\(agent.stderr)"
        )
        #expect(try setup.eventually { try setup.serverHas("before") }, "\(agent.stderr)")

        #expect(
            try Subprocess.run("egglogu-agent", ["put", "--config", setup.config, "flocks", #"{"id":"after"}"#], in: setup.directory).status == 0
        )
        #expect(try setup.eventually { try setup.serverHas("after") }, "a local write reaches the server by polling: \(agent.stderr)")
        #expect(agent.isRunning, "\(agent.stderr)")
        #expect(agent.stop()?.status == 0)
    }
}
