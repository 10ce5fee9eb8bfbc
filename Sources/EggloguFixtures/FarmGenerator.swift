import EggloguCore
import EggloguJSON

/// Builds realistic `egglogu_data` blobs with the app's collections and field names.
///
/// The same size and seed always give the same blob. Record ids follow the
/// app's `genId()` (time in base 36 plus five random characters).
public struct FarmGenerator: Sendable {
    public let size: FarmSize
    public let seed: UInt64

    public init(size: FarmSize, seed: UInt64 = 1) {
        self.size = size
        self.seed = seed
    }

    /// The blob as JSON.
    public func blob() -> JSONValue {
        var g = Builder(seed: seed, size: size)
        return g.build()
    }

    /// The blob as compact JSON bytes, as the app stores it.
    public func bytes() -> [UInt8] {
        blob().serialized()
    }
}

func obj(_ entries: [(String, JSONValue)]) -> JSONValue {
    .object(JSONObject(uniqueEntries: entries))
}

func num(_ v: Int) -> JSONValue { .number(JSONNumber(v)) }
func num(_ v: Double) -> JSONValue { .number(JSONNumber(v)) }

struct Builder {
    var rng: FixtureRandom
    let size: FarmSize
    var clock: Int64 = 1_704_067_200_000  // 2024-01-01, where generated ids start
    var flockIDs: [String] = []
    var clientIDs: [String] = []
    let days: Int

    init(seed: UInt64, size: FarmSize) {
        self.rng = FixtureRandom(seed: seed)
        self.size = size
        self.days = max(1, size.dailyProduction / max(1, size.flocks))
    }

    mutating func id() -> String {
        clock += Int64(rng.int(1_000...90_000))
        return RecordID.generate(now: Timestamp(milliseconds: clock), using: &rng)
    }

    func date(_ day: Int) -> JSONValue {
        .string(String(Timestamp(milliseconds: 1_704_067_200_000 + Int64(day) * 86_400_000).iso8601.prefix(10)))
    }

    func instant(_ day: Int, hour: Int) -> JSONValue {
        .string(Timestamp(milliseconds: 1_704_067_200_000 + Int64(day) * 86_400_000 + Int64(hour) * 3_600_000).iso8601)
    }

    mutating func day() -> Int { rng.int(0...(days - 1)) }
    mutating func flock() -> JSONValue { .string(rng.pick(flockIDs)) }
    mutating func client() -> JSONValue { .string(rng.pick(clientIDs)) }

    mutating func many(_ count: Int, _ make: (inout Builder, Int) -> JSONValue) -> JSONValue {
        var out: [JSONValue] = []
        out.reserveCapacity(count)
        for n in 0..<count { out.append(make(&self, n)) }
        return .array(out)
    }

    mutating func build() -> JSONValue {
        let houses = many(max(1, size.flocks / 2)) { g, n in
            obj([
                ("id", .string(g.id())), ("name", .string("Galpon \(n + 1)")), ("capacity", num(6_000)),
                ("racks", .array([obj([("name", "R1")]), obj([("name", "R2")])])),
            ])
        }
        let farm = obj([
            ("name", "Granja Generada"), ("location", "Valle Central"), ("capacity", num(size.flocks * 6_000)),
            ("currency", "$"), ("lat", num(-33.45)), ("lng", num(-70.66)), ("owmApiKey", ""),
            ("mqttBroker", "wss://broker.example.invalid:8084/mqtt"), ("mqttUser", "farm01"), ("mqttPass", ""),
            ("mqttTopicPrefix", "egglogu/"), ("houses", houses),
            ("routes", .array([obj([("name", "Norte")]), obj([("name", "Sur")])])),
            ("suppliers", .array([obj([("name", "Alimentos del Sur")])])),
        ])
        let breeds = ["hyline-w36", "isa-brown", "lohmann-brown", "hyline-brown"]
        let flocks = many(size.flocks) { g, n in
            let fid = g.id()
            g.flockIDs.append(fid)
            let breed = g.rng.pick(breeds)
            let count = g.rng.int(4_000...6_000)
            return obj([
                ("id", .string(fid)), ("name", .string("Lote \(n + 1)")), ("breed", .string(breed)), ("count", num(count)),
                ("status", .string(g.rng.pick(["produccion", "produccion", "cria", "descarte"]))),
                ("housingType", .string(g.rng.pick(["cage", "floor", "free-range"]))), ("targetCurve", .string(breed)),
                ("curveAdjust", num(g.rng.amount(0.9...1.05))), ("birthDate", g.date(g.rng.int(0...60))),
                ("purchaseDate", g.date(g.rng.int(60...90))), ("supplier", "Incubadora Central"),
                ("cost", num(count * 3)), ("purchaseCostPerBird", num(3.0)), ("notes", ""),
                ("currentCount", num(count - g.rng.int(0...200))),
            ])
        }
        let clients = many(size.clients) { g, n in
            let cid = g.id()
            g.clientIDs.append(cid)
            return obj([
                ("id", .string(cid)), ("clientCode", .string("CL-\(String(n + 1).leftPadded(4))")), ("rut", ""),
                ("name", .string("\(g.rng.pick(["Mercado", "Panaderia", "Almacen", "Hotel", "Restaurante"])) \(n + 1)")),
                ("phone", .string("+56 9 5555 \(String(g.rng.int(0...9_999)).leftPadded(4))")),
                ("email", .string("cliente\(n + 1)@example.invalid")), ("route", .string(g.rng.pick(["Norte", "Sur"]))),
                ("address", .string("Calle \(g.rng.int(1...400)) #\(g.rng.int(1...2_000))")),
                ("priceS", num(0.11)), ("priceM", num(0.13)), ("priceL", num(0.15)), ("priceXL", num(0.17)),
                ("priceJumbo", num(0.19)), ("notes", ""), ("createdAt", g.instant(g.rng.int(0...30), hour: 12)),
            ])
        }
        let production = many(size.dailyProduction) { g, n in
            let collected = g.rng.int(3_500...5_400)
            var fields: [(String, JSONValue)] = [
                ("id", .string(g.id())), ("date", g.date(n / max(1, g.flockIDs.count))),
                ("flockId", .string(g.flockIDs[n % g.flockIDs.count])), ("eggsCollected", num(collected)),
                ("eggsBroken", num(g.rng.int(10...60))), ("eggsS", num(collected / 16)), ("eggsM", num(collected * 3 / 10)),
                ("eggsL", num(collected * 4 / 10)), ("eggsXL", num(collected / 5)), ("eggsJumbo", num(collected / 32)),
                ("shellColor", .string(g.rng.pick(["blanco", "marron"]))), ("yolkScore", num(g.rng.int(6...10))),
                ("deaths", num(g.rng.int(0...4))), ("deathCause", .string(g.rng.pick(["", "unknown", "prolapse", "heat"]))),
                ("eggType", .string(g.rng.pick(["conventional", "free-range"]))),
                ("marketChannel", .string(g.rng.pick(["wholesale", "retail"]))), ("notes", ""),
            ]
            if g.rng.chance(0.01) {
                fields += [
                    ("status", "voided"), ("voidedAt", g.instant(n / 28, hour: 18)), ("voidedReason", "duplicate entry"), ("voidedBy", "system"),
                ]
            }
            return obj(fields)
        }
        let eggTypes: [JSONValue] = ["S", "M", "L", "XL", "Jumbo"]
        let inventory = many(size.inventory) { g, _ in
            let inbound = g.rng.chance(0.6)
            return obj([
                ("id", .string(g.id())), ("date", g.date(g.day())), ("flockId", g.flock()), ("eggType", g.rng.pick(eggTypes)),
                ("qtyIn", num(inbound ? g.rng.int(500...2_500) : 0)), ("qtyOut", num(inbound ? 0 : g.rng.int(300...2_000))),
                ("source", .string(inbound ? "production" : "sale")), ("ref", .string(g.id())),
            ])
        }
        let income = many(size.income) { g, _ in
            obj([
                ("id", .string(g.id())), ("date", g.date(g.day())), ("type", "eggs"), ("quantity", num(g.rng.int(300...4_000))),
                ("unitPrice", num(g.rng.amount(0.1...0.2))), ("eggType", g.rng.pick(eggTypes)),
                ("marketChannel", .string(g.rng.pick(["wholesale", "retail"]))), ("clientId", g.client()),
                ("docNo", .string("F-\(g.rng.int(1_000...99_999))")), ("paymentMethod", .string(g.rng.pick(["transfer", "cash"]))),
                ("dueDate", ""), ("notes", ""),
            ])
        }
        let scale = max(1, size.dailyProduction / 100)
        return obj(
            [
                ("farm", farm), ("flocks", flocks), ("dailyProduction", production),
                (
                    "vaccines",
                    many(size.flocks * 2) { g, _ in
                        obj([
                            ("id", .string(g.id())), ("flockId", g.flock()),
                            ("vaccineName", .string(g.rng.pick(["Newcastle", "Marek", "Bronquitis", "Gumboro"]))),
                            ("route", .string(g.rng.pick(["water", "spray", "injection"]))),
                            ("batchNumber", .string("NC-\(g.rng.int(1_000...9_999))")),
                            ("scheduledDate", g.date(g.day())), ("appliedDate", ""), ("cost", .null), ("notes", ""), ("status", "pending"),
                        ])
                    }
                ),
                (
                    "medications",
                    many(size.flocks) { g, _ in
                        let start = g.day()
                        return obj([
                            ("id", .string(g.id())), ("flockId", g.flock()), ("name", "Tylosin"), ("reason", "respiratory"),
                            ("dosage", "0.5 g/L"), ("startDate", g.date(start)), ("endDate", g.date(start + 5)),
                            ("withdrawalDays", num(7)), ("cost", num(g.rng.amount(40...120))), ("notes", ""),
                        ])
                    }
                ),
                (
                    "outbreaks",
                    many(max(1, size.flocks / 4)) { g, _ in
                        let start = g.day()
                        return obj([
                            ("id", .string(g.id())), ("flockId", g.flock()), ("disease", .string(g.rng.pick(["coryza", "newcastle", "bronquitis"]))),
                            ("startDate", g.date(start)), ("endDate", g.date(start + 10)), ("affected", num(g.rng.int(20...300))),
                            ("deaths", num(g.rng.int(0...20))), ("economicLoss", num(g.rng.amount(50...900))), ("status", "resolved"),
                            ("symptoms", "nasal discharge"), ("treatment", "antibiotic in water"),
                        ])
                    }
                ),
                (
                    "feed",
                    obj([
                        (
                            "purchases",
                            many(max(1, scale / 2)) { g, _ in
                                obj([
                                    ("id", .string(g.id())), ("date", g.date(g.day())), ("type", "layer_phase1"),
                                    ("quantityKg", num(g.rng.int(2_000...9_000))),
                                    ("cost", num(g.rng.int(900...3_500))), ("supplier", "Alimentos del Sur"),
                                ])
                            }
                        ),
                        (
                            "consumption",
                            many(scale * 2) { g, _ in
                                obj([
                                    ("id", .string(g.id())), ("date", g.date(g.day())), ("flockId", g.flock()),
                                    ("quantityKg", num(g.rng.amount(400...700, digits: 1))), ("type", "layer_phase1"),
                                ])
                            }
                        ),
                    ])
                ),
                ("clients", clients),
                (
                    "clientClaims",
                    many(max(1, scale / 5)) { g, _ in
                        obj([
                            ("id", .string(g.id())), ("date", g.date(g.day())), ("clientId", g.client()), ("batchId", ""), ("category", "broken"),
                            ("description", "broken eggs in delivery"), ("severity", num(g.rng.int(1...5))), ("status", "open"), ("resolution", ""),
                            ("satisfaction", .null), ("resolvedDate", ""), ("createdAt", g.instant(g.day(), hour: 15)),
                        ])
                    }
                ),
                (
                    "orders",
                    many(scale) { g, n in
                        let qty = g.rng.int(100...2_000)
                        let d = g.day()
                        return obj([
                            ("id", .string(g.id())), ("date", g.date(d)), ("clientId", g.client()), ("dueDate", g.date(d + 2)),
                            ("orderNumber", .string("OV-\(String(n + 1).leftPadded(5))")), ("folio", .string("OV-\(String(n + 1).leftPadded(5))")),
                            ("items", .array([obj([("eggType", "L"), ("qty", num(qty)), ("unitPrice", num(0.15))])])),
                            ("total", num(Double(qty) * 0.15)), ("notes", ""),
                            ("status", .string(g.rng.pick(["quotation", "confirmed", "delivered"]))),
                            ("statusHistory", .array([obj([("status", "quotation"), ("date", g.instant(d, hour: 10)), ("note", "created")])])),
                            ("createdAt", g.instant(d, hour: 10)),
                        ])
                    }
                ),
                (
                    "finances",
                    obj([
                        ("income", income),
                        (
                            "expenses",
                            many(scale * 2) { g, _ in
                                obj([
                                    ("id", .string(g.id())), ("date", g.date(g.day())),
                                    ("category", .string(g.rng.pick(["labor", "feed", "energy", "vet"]))),
                                    ("description", "Gasto operativo"), ("amount", num(g.rng.amount(50...2_000))), ("flockId", .null), ("docNo", ""),
                                    ("paymentMethod", "transfer"), ("notes", ""),
                                ])
                            }
                        ),
                        (
                            "receivables",
                            many(max(1, scale / 2)) { g, _ in
                                let d = g.day()
                                return obj([
                                    ("id", .string(g.id())), ("date", g.date(d)), ("dueDate", g.date(d + 30)), ("clientId", g.client()),
                                    ("amount", num(g.rng.amount(100...900))), ("description", "Invoice"), ("paid", .bool(g.rng.chance(0.5))),
                                ])
                            }
                        ),
                        ("payables", .array([])), ("budgets", .array([])),
                    ])
                ),
                ("inventory", inventory),
                (
                    "storageLocations",
                    many(3) { g, n in
                        obj([
                            ("id", .string(g.id())), ("name", .string("Camara fria \(n + 1)")), ("zone", "A"), ("capacity", num(60_000)),
                            ("code", .string("CF\(n + 1)")), ("description", ""), ("createdDate", g.date(0)),
                        ])
                    }
                ),
            ] + laterCollections(scale: scale)
        )
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
