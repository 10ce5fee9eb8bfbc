/// The snake_case entity keys of the app's current `/api/v1/sync` endpoint and the collections they hold.
public enum LegacyEntity {
    /// The entity holding the farm profile: one object, applied field by field.
    public static let farm = "farms"

    /// Entity key → collection, for every entity the app's backend syncs.
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
        "biosecurity_visitors": "biosecurity.visitors",
        "biosecurity_zones": "biosecurity.zones",
        "biosecurity_pest_sightings": "biosecurity.pestSightings",
        "biosecurity_protocols": "biosecurity.protocols",
        "traceability_batches": "traceability.batches",
        "production_plans": "productionPlans",
    ]

    /// The entities the web client reads from an answer: answers carry only these.
    public static let answered: Set<String> = [
        "farms", "flocks", "production", "vaccines", "medications", "outbreaks", "stress_events", "feed_purchases",
        "feed_consumption", "clients", "incomes", "expenses", "receivables", "environment_readings", "checklist_items",
        "logbook_entries", "personnel",
    ]

    /// Collection → entity key.
    public static let entities: [String: String] = Dictionary(
        uniqueKeysWithValues: collections.map { ($0.value, $0.key) }
    )
}
