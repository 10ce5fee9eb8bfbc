import EggloguFixtures
import EggloguFuzzing
import EggloguTestTraits
import Foundation
import Testing

/// The fuzz targets on the committed corpus, on every past finding, and on a few thousand
/// mutations of the corpus: a coverage-blind fuzz run in every test run, beside libFuzzer's
/// coverage-guided one in `scripts/fuzz`.
@Suite(.ownThreads) struct FuzzCorpusTests {
    static let fuzzRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz").path

    static func inputs(_ kind: String, of target: FuzzTarget) -> [(name: String, bytes: [UInt8])] {
        let directory = "\(fuzzRoot)/\(kind)/\(target.rawValue)"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().compactMap { name in
            FileManager.default.contents(atPath: "\(directory)/\(name)").map { (name, [UInt8]($0)) }
        }
    }

    /// Every seed is accepted: a target that refuses its own corpus would fuzz nothing but its first check.
    @Test(arguments: FuzzTarget.allCases)
    func theCorpusIsAcceptedWithItsProperties(target: FuzzTarget) throws {
        let seeds = Self.inputs("corpus", of: target)
        #expect(seeds.count >= 2)
        for seed in seeds {
            #expect(try target.run(seed.bytes), "\(target.rawValue)/\(seed.name) is refused")
        }
    }

    /// Each input that once broke a target (`Fuzz/findings/<target>/`) stays mended.
    @Test(arguments: FuzzTarget.allCases)
    func pastFindingsStayMended(target: FuzzTarget) {
        for finding in Self.inputs("findings", of: target) {
            #expect(throws: Never.self, "\(target.rawValue)/\(finding.name)") { try target.run(finding.bytes) }
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func mutationsOfTheCorpusKeepTheProperties(target: FuzzTarget) {
        var random = FixtureRandom(seed: 0x5EED_0000 + UInt64(target.rawValue.utf8.count))
        let seeds = Self.inputs("corpus", of: target).map(\.bytes)
        var accepted = 0
        for n in 0..<2_000 {
            var input = seeds[n % seeds.count]
            for _ in 0...Int(random.next() % 4) { Self.mutate(&input, with: &random, donor: seeds[Int(random.next() % UInt64(seeds.count))]) }
            do {
                if try target.run(input) { accepted += 1 }
            } catch {
                Issue.record("\(target.rawValue): mutation \(n) (seed 0x5EED0000+\(target.rawValue.utf8.count)): \(error)")
                return
            }
        }
        // Mutations that keep the document whole get past the parser, so the checks behind it run too.
        #expect(accepted > 0)
    }

    /// One libFuzzer-like mutation: flip, replace, insert or erase bytes, cross over with a donor,
    /// or swap in a JSON token.
    static func mutate(_ input: inout [UInt8], with random: inout FixtureRandom, donor: [UInt8]) {
        func position(_ count: Int) -> Int { count == 0 ? 0 : Int(random.next() % UInt64(count)) }
        let tokens = ["null", "true", "-0", "1e999", "\"\\u0000\"", "{}", "[]", "\"\\ud800\"", "9223372036854775808", "\"_syncVV\""]
        switch random.next() % 6 {
        case 0 where !input.isEmpty:
            input[position(input.count)] ^= UInt8(1 << (random.next() % 8))
        case 1 where !input.isEmpty:
            input[position(input.count)] = Array("{}[]\",:0-e.\\ntu".utf8)[position(15)]
        case 2:
            input.insert(contentsOf: tokens[position(tokens.count)].utf8, at: position(input.count + 1))
        case 3 where !input.isEmpty:
            let start = position(input.count)
            input.removeSubrange(start..<min(input.count, start + 1 + position(16)))
        case 4 where !donor.isEmpty:
            let start = position(donor.count)
            let slice = donor[start..<min(donor.count, start + 1 + position(64))]
            input.insert(contentsOf: slice, at: position(input.count + 1))
        default:
            input = Array(input.prefix(position(input.count + 1)))
        }
    }
}
