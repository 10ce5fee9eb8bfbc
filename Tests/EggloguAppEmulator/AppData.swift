import EggloguJSON

/// Where each entity of the app's sync lives in its data (`ENTITY_MAP` and its reverse, which
/// name the same 17 entities).
enum EntityPath: Sendable {
    /// `[D.farm]`: the farm object, merged with `Object.assign`.
    case farm
    /// A top-level array of records.
    case top(String)
    /// An array inside an object (`feed.purchases`).
    case nested(String, String)

    /// The entities in the order the client walks them.
    static let all: [(entity: String, path: EntityPath)] = [
        ("farms", .farm), ("flocks", .top("flocks")), ("production", .top("dailyProduction")), ("vaccines", .top("vaccines")),
        ("medications", .top("medications")), ("outbreaks", .top("outbreaks")), ("stress_events", .top("stressEvents")),
        ("feed_purchases", .nested("feed", "purchases")), ("feed_consumption", .nested("feed", "consumption")),
        ("clients", .top("clients")), ("incomes", .nested("finances", "income")), ("expenses", .nested("finances", "expenses")),
        ("receivables", .nested("finances", "receivables")), ("environment_readings", .top("environment")),
        ("checklist_items", .top("checklist")), ("logbook_entries", .top("logbook")), ("personnel", .top("personnel")),
    ]

    static func of(_ entity: String) -> EntityPath? {
        all.first { $0.entity == entity }?.path
    }
}

/// The data of a browser that never held a farm: the shape of the app's defaults.
public enum AppDefaults {
    public static var data: JSONObject {
        var data = JSONObject()
        data["farm"] = [
            "name": "Mi Granja", "location": "", "capacity": 500, "currency": "$", "lat": nil, "lng": nil, "owmApiKey": "",
            "mqttBroker": "", "mqttUser": "", "mqttPass": "", "mqttTopicPrefix": "egglogu/", "houses": [], "routes": [], "suppliers": [],
        ]
        for key in [
            "flocks", "dailyProduction", "vaccines", "medications", "outbreaks", "clients", "environment", "checklist", "logbook",
            "personnel", "stressEvents", "inventory", "iotReadings",
        ] {
            data[key] = []
        }
        data["feed"] = ["purchases": [], "consumption": []]
        data["finances"] = ["income": [], "expenses": [], "receivables": [], "payables": [], "budgets": []]
        data["settings"] = ["minFeedStock": 50, "taxRate": 0]
        return data
    }
}

extension JSONValue {
    /// JavaScript's truthiness.
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let b): b
        case .number(let n): n.doubleValue != 0 && !n.doubleValue.isNaN
        case .string(let s): !s.isEmpty
        case .array, .object: true
        }
    }

    /// The text JavaScript gets when it uses a value as an object key.
    var jsKeyText: String {
        switch self {
        case .string(let s): s
        case .number(let n): n.intValue.map(String.init) ?? n.literal
        default: String(decoding: serialized(), as: UTF8.self)
        }
    }
}
