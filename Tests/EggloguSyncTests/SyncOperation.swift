import PropertyBased
import Testing

/// One record a history touches: few of them, so devices collide.
struct RecordKey: Sendable, Hashable, CustomStringConvertible {
    let collection: String
    let id: String

    var description: String { "\(collection)/\(id)" }

    static let all = [
        RecordKey(collection: "flocks", id: "r0"), RecordKey(collection: "flocks", id: "r1"),
        RecordKey(collection: "dailyProduction", id: "d0"), RecordKey(collection: "farm", id: "name"),
    ]
}

/// How one sync cycle's request goes wrong.
enum NetworkFault: Sendable, Equatable, CustomStringConvertible {
    /// Every request arrives and is answered.
    case none
    /// The cycle's request number `n` never reaches the server.
    case unreachable(request: Int)
    /// The server handles request `n`, but its answer never reaches the device.
    case answerLost(request: Int)
    /// Request `n` reaches the server twice; the device reads the second answer.
    case duplicated(request: Int)

    var description: String {
        switch self {
        case .none: ""
        case .unreachable(let n): ", request \(n + 1) never arrives"
        case .answerLost(let n): ", answer \(n + 1) lost"
        case .duplicated(let n): ", request \(n + 1) delivered twice"
        }
    }
}

/// How the broker hands a device the next of the server's notices (each device has its own queue).
enum Delivery: Sendable, Equatable, CustomStringConvertible {
    /// The next notice arrives.
    case next
    /// The next notice is lost.
    case lost
    /// The notice heard last arrives again.
    case again
    /// The notice after the next arrives first (the next one stays queued).
    case reordered

    var description: String {
        switch self {
        case .next: "hears the next notice"
        case .lost: "loses the next notice"
        case .again: "hears the last notice again"
        case .reordered: "hears the notice after the next first"
        }
    }
}

/// One step of a multi-device history.
enum SyncOperation: Sendable, CustomStringConvertible, CustomTestStringConvertible {
    case put(device: Int, key: RecordKey, value: Int)
    case delete(device: Int, key: RecordKey)
    case restore(device: Int, key: RecordKey)
    /// Resolves the `pick`-th open conflict of the device, if it has any.
    case resolve(device: Int, pick: Int, keepMine: Bool)
    case sync(device: Int, fault: NetworkFault)
    /// The device's wall clock moves on.
    case tick(device: Int, milliseconds: Int)
    /// A notice reaches the device (changes inline are applied on continuity, else it is a hint).
    case hear(device: Int, delivery: Delivery)

    var testDescription: String { description }

    var description: String {
        switch self {
        case .put(let d, let key, let value): "dev\(d) put \(key) = \(value)"
        case .delete(let d, let key): "dev\(d) delete \(key)"
        case .restore(let d, let key): "dev\(d) restore \(key)"
        case .resolve(let d, let pick, let keepMine): "dev\(d) resolve conflict #\(pick) \(keepMine ? "keep-mine" : "accept-theirs")"
        case .sync(let d, let fault): "dev\(d) sync\(fault)"
        case .tick(let d, let ms): "dev\(d) clock +\(ms) ms"
        case .hear(let d, let delivery): "dev\(d) \(delivery)"
        }
    }
}

/// A history as a failure shows it: one operation per line.
struct History: Sendable, CustomTestStringConvertible {
    let operations: [SyncOperation]

    var testDescription: String {
        "\n" + operations.enumerated().map { "  \($0.offset + 1). \($0.element)" }.joined(separator: "\n") + "\n"
    }
}

/// Composed generators of histories.
enum Histories {
    static let device = Gen.int(in: 0...2)
    /// Shrinks towards the first key.
    static let key = Gen.int(in: 0...(RecordKey.all.count - 1)).map { RecordKey.all[$0] }
    /// Three values for every device: equal content written independently happens often.
    static let value = Gen.int(in: 0...2)
    /// Shrinks towards no fault.
    static let fault = Gen.int(in: 0...(faults.count - 1)).map { faults[$0] }
    private static let faults: [NetworkFault] = [
        .none, .none, .none, .unreachable(request: 0), .unreachable(request: 1), .answerLost(request: 0), .answerLost(request: 1),
        .duplicated(request: 0), .duplicated(request: 1),
    ]

    static let operation = Gen<SyncOperation>.frequency(
        (4, zip(device, key, value).map { SyncOperation.put(device: $0.0, key: $0.1, value: $0.2) }),
        (1, zip(device, key).map { SyncOperation.delete(device: $0, key: $1) }),
        (1, zip(device, key).map { SyncOperation.restore(device: $0, key: $1) }),
        (1, zip(device, Gen.int(in: 0...3), Gen.bool).map { SyncOperation.resolve(device: $0.0, pick: $0.1, keepMine: $0.2) }),
        (3, zip(device, fault).map { SyncOperation.sync(device: $0, fault: $1) }),
        (1, zip(device, Gen.int(in: 0...3)).map { SyncOperation.tick(device: $0, milliseconds: $1) }),
        (4, zip(device, delivery).map { SyncOperation.hear(device: $0, delivery: $1) })
    )

    /// Shrinks towards in-order delivery.
    static let delivery = Gen.int(in: 0...(deliveries.count - 1)).map { deliveries[$0] }
    private static let deliveries: [Delivery] = [.next, .next, .next, .lost, .again, .reordered]
}
