import Testing

@testable import Harness

@Suite("Part size planning")
struct PartSizingTests {
    static let MiB = 1 << 20
    static let GiB = 1 << 30

    @Test("the requested size is kept while 10,000 parts suffice", arguments: [
        (8 << 20, 0), (8 << 20, 1), (8 << 20, 4 << 30), (8 << 20, 10_000 * (8 << 20)), (16 << 20, 100 << 30),
    ])
    func keptWhenItFits(requested: Int, length: Int) throws {
        #expect(try PartSizing.partSize(requested: requested, length: .exact(length)) == requested)
    }

    @Test func raisedToAWholeMiBJustAboveTheLimit() throws {
        // One byte more than 10,000 parts of 8 MiB: the next whole MiB (9 MiB) is enough.
        let size = try PartSizing.partSize(requested: 8 * Self.MiB, length: .exact(10_000 * 8 * Self.MiB + 1))
        #expect(size == 9 * Self.MiB)
        #expect(PartSizing.partCount(length: 10_000 * 8 * Self.MiB + 1, partSize: size) <= 10_000)
    }

    @Test("raised sizes always fit in 10,000 parts and are multiples of 1 MiB", arguments: [
        100 << 30, 500 << 30, 1 << 40, (5 << 40) - 1, 5 << 40, 78_125_000_001,
    ])
    func raisedSizesFit(length: Int) throws {
        let size = try PartSizing.partSize(requested: 8 * Self.MiB, length: .exact(length))
        #expect(size % Self.MiB == 0)
        #expect(size >= 8 * Self.MiB)
        #expect(PartSizing.partCount(length: length, partSize: size) <= 10_000)
        // Minimal: one MiB less would not fit (or would be below the request).
        let smaller = size - Self.MiB
        #expect(smaller < 8 * Self.MiB || PartSizing.partCount(length: length, partSize: smaller) > 10_000)
    }

    @Test func aGeneratedStreamIsPlannedForItsBound() throws {
        // 100 GiB target + one row of slack: the bound decides, not the target.
        let bound = 100 * Self.GiB + 4096
        let size = try PartSizing.partSize(requested: 8 * Self.MiB, length: .atMost(bound))
        #expect(PartSizing.partCount(length: bound, partSize: size) <= 10_000)
    }

    @Test func tooSmallOrTooLargeIsAnError() {
        #expect(throws: UploadError.self) { try PartSizing.partSize(requested: 5 * Self.MiB - 1, length: .exact(1)) }
        #expect(throws: UploadError.self) { try PartSizing.partSize(requested: 5 * Self.GiB, length: .exact(1)) }
        #expect(throws: UploadError.self) { try PartSizing.partSize(requested: 8 * Self.MiB, length: .exact((5 << 40) + 1)) }
        // A smaller minimum (for test servers) is honoured.
        #expect((try? PartSizing.partSize(requested: 64 << 10, length: .exact(1), minimum: 64 << 10)) == 64 << 10)
    }

    @Test func partCounts() {
        #expect(PartSizing.partCount(length: 0, partSize: 8) == 1)
        #expect(PartSizing.partCount(length: 8, partSize: 8) == 1)
        #expect(PartSizing.partCount(length: 9, partSize: 8) == 2)
        #expect(PartSizing.partCount(length: 80_000, partSize: 8) == 10_000)
    }
}
