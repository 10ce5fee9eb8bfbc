import EggloguCore
import EggloguTestTraits
import Testing

@Suite(.ownThreads) struct TimestampTests {
    @Test func rendersISO8601WithMilliseconds() {
        #expect(Timestamp(milliseconds: 1_718_461_920_000).iso8601 == "2024-06-15T14:32:00.000Z")
        #expect(Timestamp.epoch.iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(milliseconds: -1).iso8601 == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(milliseconds: 951_782_400_123).iso8601 == "2000-02-29T00:00:00.123Z")
    }

    @Test(arguments: [
        "2024-06-15T14:32:00.000Z", "2024-06-15T16:32:00.000+02:00", "2024-06-15T09:02:00-0530",
        "2024-06-15T14:32:00Z", "2024-06-15T14:32Z", "2024-06-15 14:32:00.0000009Z", "2024-06-15T15:32:00+01",
        "2024-06-15t14:32:00z",
    ])
    func parsesAnyOffsetToTheSameInstant(text: String) {
        #expect(Timestamp(iso8601: text) == Timestamp(milliseconds: 1_718_461_920_000))
    }

    @Test func comparesInstantsNotStrings() throws {
        let early = try #require(Timestamp(iso8601: "2024-06-15T15:00:00.000+02:00"))
        let late = try #require(Timestamp(iso8601: "2024-06-15T14:00:00.000Z"))
        #expect("2024-06-15T15:00:00.000+02:00" > "2024-06-15T14:00:00.000Z")
        #expect(early < late)
    }

    @Test(arguments: [
        "", "2024-06-15", "2024-06-15T14:32:00", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z", "2024-06-15T25:00:00Z", "2024-06-15T14:32:00.Z", "2024-06-15T14:32:00+24:00",
        "yesterday", "2024-06-15T14:32:00Zjunk", "１９７０-01-01T00:00:00Z",
    ])
    func rejectsWhatIsNotAnInstant(text: String) {
        #expect(Timestamp(iso8601: text) == nil)
    }

    @Test func roundTripsThroughText() {
        for ms in [Int64(0), 1, 999, 86_399_999, 1_718_461_920_123, 253_402_300_799_999, -62_135_596_800_000] {
            #expect(Timestamp(iso8601: Timestamp(milliseconds: ms).iso8601)?.milliseconds == ms)
        }
    }
}
