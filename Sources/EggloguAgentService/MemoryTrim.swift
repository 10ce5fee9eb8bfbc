import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Gives back memory an idle agent no longer needs: the clean, file-backed pages that start-up
/// touched (argument parsing, TLS and database set-up, type metadata), and the free pages of the
/// heap.
///
/// A gateway runs the agent for months on a small board; those pages are only read again if the
/// code runs again, in which case the kernel faults them back in from the binary.
public enum MemoryTrim {
    /// `MADV_PAGEOUT` (Linux 5.4): reclaim now, rather than under pressure.
    private static let pageOut: Int32 = 21

    /// Pages out the process's clean file-backed pages (a no-op off Linux).
    public static func release() {
        #if os(Linux)
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return }
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // Private, not writable, backed by a file: code and read-only data.
            guard fields.count >= 6, fields[1].hasPrefix("r"), !fields[1].contains("w"), fields[1].hasSuffix("p"),
                fields[5].hasPrefix("/")
            else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16), end > start,
                let address = UnsafeMutableRawPointer(bitPattern: start)
            else { continue }
            _ = madvise(address, Int(end - start), pageOut)
        }
        _ = trimHeap?(0)
        #endif
    }

    #if os(Linux)
    /// glibc's `malloc_trim`, which the Glibc module does not export (it is in `malloc.h`).
    private static let trimHeap: (@convention(c) (Int) -> Int32)? = dlsym(nil, "malloc_trim").map {
        unsafeBitCast($0, to: (@convention(c) (Int) -> Int32).self)
    }
    #endif
}
