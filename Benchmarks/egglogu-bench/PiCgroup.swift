import Foundation

/// A control group limited to a quarter of a core and 256 MB: a stand-in for a Raspberry Pi until
/// one is measured. It uses cgroup v2 where the host has it (`cpu.max`, `memory.max`) and the v1
/// controllers otherwise (`cpu.cfs_quota_us`, `memory.limit_in_bytes`). Needs root.
struct PiCgroup {
    /// CPU time per 100 ms period: 25 ms, a quarter of a core.
    static let quotaMicroseconds = 25_000
    static let memoryBytes = 256 << 20

    /// The `cgroup.procs` files a process writes its pid to, to join.
    let procs: [String]
    private let directories: [String]
    /// "v2" or "v1".
    let version: String

    static func make(name: String) throws -> PiCgroup {
        let manager = FileManager.default
        let root = "/sys/fs/cgroup"
        if let controllers = try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8),
            controllers.contains("cpu"), controllers.contains("memory")
        {
            try? "+cpu +memory".write(toFile: root + "/cgroup.subtree_control", atomically: false, encoding: .utf8)
            let directory = root + "/" + name
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: false)
            return try PiCgroup(procs: [directory + "/cgroup.procs"], directories: [directory], version: "v2").limited([
                ("\(quotaMicroseconds) 100000", directory + "/cpu.max"), ("\(memoryBytes)", directory + "/memory.max"),
            ])
        }
        let cpu = root + "/cpu/" + name
        let memory = root + "/memory/" + name
        guard manager.fileExists(atPath: root + "/cpu/cpu.cfs_quota_us"), manager.fileExists(atPath: root + "/memory/memory.limit_in_bytes") else {
            throw BenchError("no cgroup v2 with cpu and memory, and no v1 cpu and memory controllers under \(root)")
        }
        do {
            try manager.createDirectory(atPath: cpu, withIntermediateDirectories: false)
            try manager.createDirectory(atPath: memory, withIntermediateDirectories: false)
        } catch {
            throw BenchError("cannot create a cgroup (run as root): \(error.localizedDescription)")
        }
        return try PiCgroup(procs: [cpu + "/cgroup.procs", memory + "/cgroup.procs"], directories: [cpu, memory], version: "v1").limited([
            ("100000", cpu + "/cpu.cfs_period_us"), ("\(quotaMicroseconds)", cpu + "/cpu.cfs_quota_us"),
            ("\(memoryBytes)", memory + "/memory.limit_in_bytes"),
        ])
    }

    /// `binary arguments` run inside the group: a shell joins it, then becomes the program (same pid).
    func confine(_ binary: String, _ arguments: [String]) -> (String, [String]) {
        let join = procs.map { "echo $$ > '\($0)'" }.joined(separator: " && ")
        return ("/bin/sh", ["-c", join + " && exec \"$0\" \"$@\"", binary] + arguments)
    }

    /// Whether the group killed a process for memory (v2 `memory.events`, v1 `memory.failcnt`).
    func hitMemoryLimit() -> Bool {
        let memory = directories.last!
        if version == "v2" {
            let events = (try? String(contentsOfFile: memory + "/memory.events", encoding: .utf8)) ?? ""
            return events.split(separator: "\n").contains { $0.hasPrefix("oom_kill ") && !$0.hasSuffix(" 0") }
        }
        let failures = (try? String(contentsOfFile: memory + "/memory.failcnt", encoding: .utf8)) ?? "0"
        return failures.trimmingCharacters(in: .whitespacesAndNewlines) != "0"
    }

    /// Removes the group; its processes must have ended.
    func remove() {
        for directory in directories { rmdir(directory) }
    }

    /// The group with each value written to its file; removed again if one cannot be.
    private func limited(_ limits: [(value: String, file: String)]) throws -> PiCgroup {
        do {
            for (value, file) in limits { try Self.write(value, to: file) }
        } catch {
            remove()
            throw error
        }
        return self
    }

    private static func write(_ value: String, to file: String) throws {
        do {
            try value.write(toFile: file, atomically: false, encoding: .utf8)
        } catch {
            throw BenchError("cannot write \(value) to \(file): \(error.localizedDescription)")
        }
    }
}
