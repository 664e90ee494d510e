@testable import Emulator
import Testing

@Suite("Processor: PII detectors")
struct ProcessorScannerTests {
    let scanner = PIIScanner()

    private func found(_ text: String) -> [(String, RedactionKind)] {
        let bytes = Array(text.utf8)
        return scanner.findings(in: bytes).map { (String(decoding: bytes[$0.start..<$0.end], as: UTF8.self), $0.kind) }
    }

    @Test("Finds each kind, with the exact span", arguments: [
        ("mail jane.doe+x@mail.example.com.", "jane.doe+x@mail.example.com", RedactionKind.email),
        ("reach at a_b99@example.org now", "a_b99@example.org", .email),
        ("call (212) 555-0147 today", "(212) 555-0147", .phone),
        ("call 212-555-0147", "212-555-0147", .phone),
        ("call 212.555.0147.", "212.555.0147", .phone),
        ("call +1 212-555-0147", "+1 212-555-0147", .phone),
        ("SSN 912-34-5678 on file", "912-34-5678", .ssn),
        ("ssn 078-05-1120.", "078-05-1120", .ssn),
        ("card 4111 1111 1111 1111 ok", "4111 1111 1111 1111", .card),
        ("card 4111111111111111.", "4111111111111111", .card),
        ("card 4111-1111-1111-1111", "4111-1111-1111-1111", .card),
        ("amex 3782 822463 10005", "3782 822463 10005", .card),
        ("mc 5555555555554444", "5555555555554444", .card),
        ("mc2 2223003122003222", "2223003122003222", .card),
        ("disc 6011111111111117", "6011111111111117", .card),
        ("card 4111 1111 1111 1111 22 items", "4111 1111 1111 1111", .card),
        ("IBAN DE89370400440532013000 ok", "DE89370400440532013000", .iban),
        ("wire to GB82WEST12345698765432.", "GB82WEST12345698765432", .iban),
        ("print DE89 3704 0044 0532 0130 00 done", "DE89 3704 0044 0532 0130 00", .iban),
        ("login from 192.0.2.17.", "192.0.2.17", .ipv4),
        ("IP 255.255.255.255", "255.255.255.255", .ipv4),
        ("v6 2001:db8:85a3:1:2:8a2e:370:7334 x", "2001:db8:85a3:1:2:8a2e:370:7334", .ipv6),
        ("v6 2001:db8::1 x", "2001:db8::1", .ipv6),
    ])
    func positives(text: String, value: String, kind: RedactionKind) {
        let result = found(text)
        #expect(result.count == 1, "\(text): \(result)")
        #expect(result.first?.0 == value, "\(text)")
        #expect(result.first?.1 == kind, "\(text)")
    }

    @Test("Leaves near-misses alone", arguments: [
        "card 4111 1111 1111 1112", // Luhn-invalid
        "card 4111111111111112",
        "num 1234567812345670", // Luhn-valid, no known IIN
        "id 00000000000000000", // no IIN
        "IBAN DE89370400440532013001", // bad mod-97
        "IBAN DE8937040044", // too short
        "born 2023-09-12 and 1985-03-12",
        "at 2019-05-04T12:34:56Z",
        "at 12:34:56 or 10:15",
        "amount -2450.75 and 245953.21 and 1.5",
        "zip 04047 and 99950, id 100123, seq 4111111111",
        "ssn 000-12-3456 666-12-3456 912-00-3456 912-34-0000",
        "ssn 912-34-56789 x912-34-5678",
        "phone 112-555-0147 212-055-0147 212-555-014",
        "ip 256.1.1.1 1.2.3 1.2.3.4.5 01.2.3.4 192.0.2.1x",
        "version v1.2.3.4",
        "user@ @example.com a@b a@b.c",
        "word:word a:b:c",
        "ratio 3:2, 1::2",
        "abcDE89370400440532013000",
    ])
    func nearMisses(text: String) {
        #expect(found(text).isEmpty, "\(text): \(found(text))")
    }

    @Test("Several values in one text, in order")
    func several() {
        let result = found("a@example.com, 912-34-5678; 4111111111111111 (212) 555-0147 198.51.100.1")
        #expect(result.map(\.1) == [.email, .ssn, .card, .phone, .ipv4])
    }
}
