import AWSWire
import Testing

@Suite("SQS message digests")
struct SQSMessageDigestTests {
    @Test func bodyMD5() {
        #expect(SQSMessageDigest.md5(ofBody: "hello") == "5d41402abc4b2a76b9719d911017c592")
    }

    @Test func noAttributesNoDigest() {
        #expect(SQSMessageDigest.md5(ofAttributes: [:]) == nil)
    }

    /// Reference value from moto's independent implementation (`moto.sqs.models.Message.attribute_md5`).
    @Test func attributeDigestMatchesMoto() {
        let a = SQSMessageDigest.md5(ofAttributes: ["b": .init(string: "2"), "a": .init(number: 1), "c": .init(binary: [1, 2])])
        let b = SQSMessageDigest.md5(ofAttributes: ["c": .init(binary: [1, 2]), "a": .init(number: 1), "b": .init(string: "2")])
        #expect(a == b)
        #expect(a == "8da6896af4eb29e8624ba79219878bd6")
    }
}
