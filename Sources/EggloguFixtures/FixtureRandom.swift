/// SplitMix64: a small, fast generator whose output depends only on the seed, so fixtures are reproducible.
public struct FixtureRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func pick<T>(_ options: [T]) -> T {
        options[Int.random(in: 0..<options.count, using: &self)]
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self)
    }

    /// A price-like number with `digits` decimals.
    mutating func amount(_ range: ClosedRange<Double>, digits: Int = 2) -> Double {
        let scale = Double([1, 10, 100, 1000][digits])
        return (Double.random(in: range, using: &self) * scale).rounded() / scale
    }

    mutating func chance(_ p: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < p
    }
}
