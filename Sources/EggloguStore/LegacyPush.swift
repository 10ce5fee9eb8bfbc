import EggloguCore
import EggloguJSON

/// A push from the EGGlogU app's own web client (`POST /api/v1/sync`), in the store's terms.
///
/// The client sends back whatever sync metadata it last received with a record, so a record's
/// metadata names the version it started from, not the version it carries. The farm profile
/// arrives as one object without metadata. See ``Replica/legacyPush(_:)`` for the rules.
public struct LegacyPush: Sendable {
    /// Records of one collection as the client sent them.
    public struct Group: Sendable {
        /// How the client names the group (its entity key), for messages.
        public var label: String
        /// A collection of records (`flocks`, `feed.purchases`, ...).
        public var collection: String
        public var records: [JSONValue]

        public init(label: String, collection: String, records: [JSONValue]) {
            self.label = label
            self.collection = collection
            self.records = records
        }
    }

    public var groups: [Group]
    /// Farm profile objects (the client's `farms` entity), applied field by field.
    public var farm: [JSONValue]
    /// How the client names the farm, for messages.
    public var farmLabel = "farms"
    public var since: LegacySince
    public var author: LegacyAuthor

    public init(groups: [Group] = [], farm: [JSONValue] = [], since: LegacySince, author: LegacyAuthor) {
        self.groups = groups
        self.farm = farm
        self.since = since
        self.author = author
    }
}

/// Where a client of the app's sync endpoint stands: what it sent as `last_synced_at`.
public enum LegacySince: Sendable, Equatable {
    /// `null`: the client never completed a sync.
    case never
    /// A time: the `server_now` of an earlier answer (`text`, looked up exactly), or a time from
    /// elsewhere, which is mapped to the change sequence by when changes arrived.
    case client(text: String?, time: Timestamp)
}

/// Who makes the versions a legacy push creates.
public enum LegacyAuthor: Sendable, Equatable {
    /// A device with a token of its own: its versions carry its id.
    case device(String)
    /// A browser of a user of the app: its versions carry `prefix` followed by the browser's
    /// session, which is created by its first answer and follows its chain of `server_now` values.
    case browser(prefix: String)
}

/// What a legacy push did, and what its answer must hold.
public struct LegacyPushResult: Sendable {
    /// A record that did not land as sent.
    public struct Issue: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// Both versions are kept: the merge rule chose the live one, the other is in the conflict archive.
            case conflict(ConflictKind)
            /// The record was refused; the rest of the push landed.
            case rejected(RecordError)
        }

        /// The group's label (`farms` for the farm).
        public let label: String
        /// The record id (the field, for the farm), when there is one.
        public let id: String?
        /// The position in the group, for records refused before an id was known.
        public let index: Int
        public let kind: Kind
    }

    /// Records (the farm counting as one) that changed the server's state.
    public var synced = 0
    public var issues: [Issue] = []
    /// Conflict-archive entries filed.
    public var conflicts = 0
    /// Rows written.
    public var changed = 0
    /// The origin of the versions this push made.
    public var origin = ""
    /// The answer covers changes after this sequence number...
    public var since: Int64 = 0
    /// ...up to this one.
    public var head: Int64 = 0
    /// The answer's `server_now`: the client's next `last_synced_at`, which maps back to `head`.
    public var token = ""
    /// Versions this push made that stay current: the client has them already.
    var own: Set<RecordRef> = []
    /// Records whose stored version the client must get back although it may predate `since`.
    var sendBack: Set<RecordRef> = []

    /// Collections this push changed.
    public var changedCollections: [String] = []
}
