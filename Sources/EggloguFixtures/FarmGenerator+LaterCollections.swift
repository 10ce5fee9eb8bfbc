import EggloguCore
import EggloguJSON

extension Builder {
    /// The blob's keys after `storageLocations`, in the app's order: reservations, environment,
    /// finance, health, operations and settings.
    mutating func laterCollections(scale: Int) -> [(String, JSONValue)] {
        [
            ("reservations", .array([])),
            (
                "environment",
                many(min(days, 365)) { g, n in
                    obj([
                        ("id", .string(g.id())), ("date", g.date(n)), ("temperature", num(g.rng.amount(15...32, digits: 1))),
                        ("humidity", num(g.rng.int(40...85))), ("lightHours", num(16)), ("ammoniaLevel", num(g.rng.amount(5...25, digits: 1))),
                        ("ventilation", "tunnel"), ("notes", ""),
                    ])
                }
            ),
            (
                "checklist",
                many(scale) { g, _ in
                    obj([
                        ("id", .string(g.id())), ("date", g.date(g.day())),
                        ("task", .string(g.rng.pick(["chk_collect_eggs", "chk_feed_birds", "chk_check_water"]))),
                        ("done", .bool(g.rng.chance(0.9))),
                    ])
                }
            ),
            (
                "logbook",
                many(max(1, scale / 2)) { g, _ in
                    obj([("id", .string(g.id())), ("date", g.date(g.day())), ("category", "maintenance"), ("entry", "Fan belt replaced")])
                }
            ),
            (
                "personnel",
                many(max(2, size.flocks / 2)) { g, n in
                    obj([
                        ("id", .string(g.id())), ("name", .string("Operario \(n + 1)")), ("role", "operator"), ("salary", num(650)),
                        ("startDate", g.date(0)), ("active", true), ("notes", ""),
                    ])
                }
            ),
            (
                "kpiSnapshots",
                many(min(days, 30)) { g, n in
                    obj([
                        ("date", g.date(n)), ("activeHens", num(g.size.flocks * 5_000)), ("eggsToday", num(g.size.flocks * 4_400)),
                        ("henDay", num(g.rng.amount(80...92, digits: 1))), ("fcr", num(2.05)), ("mortality", num(0.4)), ("costPerEgg", num(0.08)),
                        ("netIncome", num(g.rng.amount(-1_000...3_000))), ("feedStock", num(6_737.5)), ("totalFlocks", num(g.size.flocks)),
                        ("activeOutbreaks", num(0)),
                    ])
                }
            ),
            ("weatherCache", .array([])),
            (
                "stressEvents",
                many(max(1, scale / 10)) { g, _ in
                    obj([
                        ("id", .string(g.id())), ("date", g.date(g.day())), ("type", "heat"), ("severity", num(g.rng.int(1...3))),
                        ("flockId", ""), ("description", "THI=28.6"),
                    ])
                }
            ),
            (
                "iotReadings",
                many(scale) { g, n in
                    obj([
                        ("id", .string(g.id())), ("ts", num(1_772_445_600_000 + n * 400)),
                        ("sensor", .string(g.rng.pick(["temperature", "humidity", "ammonia", "light"]))),
                        ("value", num(g.rng.amount(10...80, digits: 1))), ("unit", "C"),
                    ])
                }
            ),
            ("predictions", .array([])),
            (
                "biosecurity",
                obj([
                    (
                        "visitors",
                        many(max(1, scale / 5)) { g, _ in
                            obj([
                                ("id", .string(g.id())), ("date", g.date(g.day())), ("name", "Tecnico"), ("company", "Alimentos del Sur"),
                                ("purpose", "delivery"), ("zone", ""), ("vehiclePlate", "AB-1234"), ("disinfected", true), ("fromFarmId", ""),
                                ("fromFarmHealth", ""), ("notes", ""),
                            ])
                        }
                    ),
                    (
                        "zones",
                        many(3) { g, n in
                            obj([
                                ("id", .string(g.id())), ("name", .string("Zona \(n + 1)")), ("riskLevel", "high"),
                                ("lastDisinfection", g.date(g.day())),
                                ("frequencyDays", num(7)), ("notes", ""),
                            ])
                        }
                    ),
                    (
                        "pestSightings",
                        many(max(1, scale / 10)) { g, _ in
                            obj([
                                ("id", .string(g.id())), ("date", g.date(g.day())), ("type", "rodent"), ("location", "Bodega"),
                                ("severity", num(g.rng.int(1...5))), ("action", "bait"), ("resolved", .bool(g.rng.chance(0.5))),
                            ])
                        }
                    ),
                    (
                        "protocols",
                        many(2) { g, _ in
                            obj([
                                ("id", .string(g.id())), ("name", "Desinfeccion de vehiculos"), ("frequency", "daily"),
                                ("items", .array(["Arco sanitario", "Registro de patente"])), ("lastCompleted", .null),
                            ])
                        }
                    ),
                ])
            ),
            (
                "traceability",
                obj([
                    (
                        "batches",
                        many(max(1, scale / 2)) { g, _ in
                            let bid = g.id()
                            return obj([
                                ("id", .string(bid)), ("date", g.date(g.day())), ("flockId", g.flock()), ("house", "Galpon 1"), ("rackNumber", "R1"),
                                ("boxCount", num(g.rng.int(20...200))), ("eggsPerBox", num(30)), ("eggType", "L"), ("clientId", g.client()),
                                ("deliveryDate", g.date(g.day())), ("notes", ""), ("qrCode", .string("EGGLOGU|BATCH:\(bid)")),
                            ])
                        }
                    )
                ])
            ),
            (
                "productionPlans",
                many(size.flocks) { g, _ in
                    obj([
                        ("id", .string(g.id())), ("flockId", g.flock()), ("startDate", g.date(0)), ("endDate", g.date(30)),
                        ("targetEggs", num(140_000)), ("notes", ""),
                    ])
                }
            ),
            ("welfare", obj([("assessments", .array([]))])),
            ("workflowRules", .array([])),
            (
                "auditLog",
                many(scale * 2) { g, n in
                    obj([
                        ("ts", .string(Timestamp(milliseconds: 1_704_099_600_000 + Int64(n) * 61_000).iso8601)), ("user", "Admin"),
                        ("action", .string(g.rng.pick(["create", "update", "void"]))),
                        ("module", "production"), ("detail", .string("Change \(n)")), ("before", .null),
                        ("after", obj([("eggsCollected", num(g.rng.int(3_000...5_000)))])),
                    ])
                }
            ),
            (
                "users",
                many(2) { g, n in
                    obj([
                        ("id", .string(g.id())), ("name", .string(n == 0 ? "Admin" : "Operario")), ("email", .string("user\(n)@example.invalid")),
                        ("role", .string(n == 0 ? "owner" : "operator")), ("pinHash", "<sha256-hex>"), ("pinSalt", "<salt>"),
                        ("oauth", "google"), ("status", "active"), ("activatedAt", g.date(0)), ("created", g.date(0)),
                    ])
                }
            ),
            ("pendingActivations", .array([])),
            (
                "settings",
                obj([
                    ("minFeedStock", num(50)), ("maxMortality", num(5)), ("alertDaysBefore", num(3)), ("campoMode", false),
                    ("vetMode", false), ("fontScale", "normal"), ("darkMode", false),
                    ("plan", obj([("tier", "enterprise"), ("status", "active"), ("is_trial", true), ("modules", .array([]))])),
                    ("ownerEmail", "owner@example.invalid"), ("taxRate", num(0)), ("depreciationYears", num(5)), ("assetValue", num(0)),
                    ("defaultChecklist", .array(["chk_collect_eggs", "chk_feed_birds", "chk_check_water"])),
                ])
            ),
            ("_clientCodeSeq", num(size.clients)),
            ("_orderFolioSeq", num(scale)),
        ]
    }
}
