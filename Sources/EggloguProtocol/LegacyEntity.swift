/// The snake_case entity keys of the app's current `/api/v1/sync` endpoint and the collections they hold.
public enum LegacyEntity {
    /// Entity key → collection.
    public static let collections: [String: String] = [
        "farms": "farm",
        "flocks": "flocks",
        "production": "dailyProduction",
        "vaccines": "vaccines",
        "medications": "medications",
        "outbreaks": "outbreaks",
        "stress_events": "stressEvents",
        "feed_purchases": "feed.purchases",
        "feed_consumption": "feed.consumption",
        "clients": "clients",
        "incomes": "finances.income",
        "expenses": "finances.expenses",
        "receivables": "finances.receivables",
        "environment_readings": "environment",
        "iot_readings": "iotReadings",
        "weather_cache": "weatherCache",
        "checklist_items": "checklist",
        "logbook_entries": "logbook",
        "personnel": "personnel",
    ]

    /// Collection → entity key.
    public static let entities: [String: String] = Dictionary(
        uniqueKeysWithValues: collections.map { ($0.value, $0.key) })
}
