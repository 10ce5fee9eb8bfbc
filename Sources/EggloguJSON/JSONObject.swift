#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON object that keeps its keys in document order.
///
/// Lookups are linear, which suits records of a few dozen fields; the parser
/// guards against quadratic behaviour on huge objects itself.
public struct JSONObject: Sendable, Equatable, Sequence {
    public typealias Element = (key: String, value: JSONValue)

    public private(set) var entries: [Element]

    public init() {
        entries = []
    }

    /// Builds an object from pairs; a repeated key keeps its first position and last value.
    public init(_ pairs: some Sequence<(String, JSONValue)>) {
        entries = []
        for (k, v) in pairs { self[k] = v }
    }

    /// Wraps entries whose keys the caller knows to be distinct.
    public init(uniqueEntries: [Element]) {
        entries = uniqueEntries
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var keys: [String] { entries.map(\.key) }

    public func makeIterator() -> IndexingIterator<[Element]> {
        entries.makeIterator()
    }

    public subscript(key: String) -> JSONValue? {
        get {
            for entry in entries where entry.key == key { return entry.value }
            return nil
        }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue {
                    entries[i].value = newValue
                } else {
                    entries.remove(at: i)
                }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    /// Removes the keys for which `predicate` is true.
    public mutating func removeAll(where predicate: (String) -> Bool) {
        entries.removeAll { predicate($0.key) }
    }

    /// A copy without the keys for which `predicate` is true.
    public func filter(keys predicate: (String) -> Bool) -> JSONObject {
        JSONObject(uniqueEntries: entries.filter { predicate($0.key) })
    }

    /// Whether `a` sorts before `b` by UTF-8 bytes, the order of canonical JSON's keys.
    public static func keyPrecedes(_ a: String, _ b: String) -> Bool {
        let order = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in
                let common = Swift.min(x.count, y.count)
                if common > 0, let p = x.baseAddress, let q = y.baseAddress {
                    let order = memcmp(p, q, common)
                    if order != 0 { return order < 0 }
                }
                return x.count < y.count
            }
        }
        return (order ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.count > 32 {
            let index = Dictionary(rhs.entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, b in b })
            return lhs.entries.allSatisfy { index[$0.key] == $0.value }
        }
        return lhs.entries.allSatisfy { rhs[$0.key] == $0.value }
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}
