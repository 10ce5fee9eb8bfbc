/// How many records a generated farm has in its main collections; the rest scale from these.
public struct FarmSize: Sendable, Equatable {
    public var flocks: Int
    public var clients: Int
    public var dailyProduction: Int
    public var inventory: Int
    public var income: Int

    public init(flocks: Int, clients: Int, dailyProduction: Int, inventory: Int, income: Int) {
        self.flocks = flocks
        self.clients = clients
        self.dailyProduction = dailyProduction
        self.inventory = inventory
        self.income = income
    }

    /// A family farm: a few hundred KB.
    public static let small = FarmSize(flocks: 3, clients: 25, dailyProduction: 540, inventory: 200, income: 120)
    /// The "large operation" of the benchmarks: about 4-5 MB.
    public static let large = FarmSize(flocks: 28, clients: 1_000, dailyProduction: 10_000, inventory: 4_000, income: 2_300)

    /// A farm with `records` daily-production records and the rest in proportion to ``large``.
    public static func scaled(dailyProduction records: Int) -> FarmSize {
        let f = Double(records) / 10_000
        return FarmSize(
            flocks: max(1, Int(28 * f)),
            clients: max(1, Int(1_000 * f)),
            dailyProduction: records,
            inventory: Int(4_000 * f),
            income: Int(2_300 * f)
        )
    }
}
