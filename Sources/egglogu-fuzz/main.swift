// egglogu-fuzz TARGET [libFuzzer options] [CORPUS_DIR...]
//
// Built by scripts/fuzz (EGGLOGU_FUZZ_RUNTIME set), it is libFuzzer on one FuzzTarget. Built
// normally, it replays the files and directories it is given through the target, which is how a
// finding is checked once mended.
import EggloguFuzzing
import Foundation

// The target is the first argument, or EGGLOGU_FUZZ_TARGET: libFuzzer's -jobs start copies of
// this program with its own options only, and they find their target there.
var arguments = CommandLine.arguments
if arguments.count >= 2, let named = FuzzTarget(rawValue: arguments[1]) {
    setenv("EGGLOGU_FUZZ_TARGET", named.rawValue, 1)
    arguments.remove(at: 1)
}
guard let chosen = ProcessInfo.processInfo.environment["EGGLOGU_FUZZ_TARGET"].flatMap(FuzzTarget.init(rawValue:)) else {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
    FileHandle.standardError.write(Data("usage: egglogu-fuzz \(names) [libFuzzer options] [corpus...]\n".utf8))
    exit(64)
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// The target libFuzzer's callback runs, set once before the driver starts.
enum Fuzzing {
    nonisolated(unsafe) static var target = FuzzTarget.json
}

func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        try Fuzzing.target.run(input)
    } catch {
        fatalError("\(Fuzzing.target.rawValue): \(error)")
    }
    return 0
}

Fuzzing.target = chosen
var pointers = arguments.map { strdup($0) } + [nil]
var count = Int32(arguments.count)
let status = pointers.withUnsafeMutableBufferPointer { buffer in
    var argv = buffer.baseAddress!
    return runDriver(&count, &argv, fuzzOne)
}
exit(status)
#else
var files: [String] = []
for path in arguments.dropFirst() where !path.hasPrefix("-") {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        FileHandle.standardError.write(Data("egglogu-fuzz: no such file: \(path)\n".utf8))
        exit(66)
    }
    if isDirectory.boolValue {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        files += names.sorted().map { path + "/" + $0 }
    } else {
        files.append(path)
    }
}
var findings = 0
for file in files {
    guard let data = FileManager.default.contents(atPath: file) else { continue }
    do {
        try chosen.run([UInt8](data))
    } catch {
        findings += 1
        print("\(file): \(error)")
    }
}
print("\(chosen.rawValue): \(files.count) inputs replayed, \(findings) findings")
exit(findings == 0 ? 0 : 1)
#endif
