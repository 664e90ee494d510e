import Testing

@testable import Faults

@Suite struct GlobTests {
    @Test(arguments: [
        ("in/*.csv", "in/a.csv", true),
        ("in/*.csv", "in/x/a.csv", false),
        ("in/**.csv", "in/x/a.csv", true),
        ("in/**", "in/x/y/z", true),
        ("**", "", true),
        ("*", "", true),
        ("a?c", "abc", true),
        ("a?c", "a/c", false),
        ("[a-c]x", "bx", true),
        ("[!a-c]x", "bx", false),
        ("[!a-c]x", "dx", true),
        ("raw", "raw", true),
        ("raw", "raw2", false),
        ("*.csv", "data.csv.gz", false),
        ("**/part-*", "a/b/part-0001", true),
        ("a\\*b", "a*b", true),
        ("a\\*b", "axb", false),
    ])
    func matching(pattern: String, text: String, expected: Bool) throws {
        #expect(try Glob(pattern).matches(text) == expected, "\(pattern) vs \(text)")
    }

    @Test(arguments: ["", "[abc", "a\\", "[z-a]"])
    func malformedPatternsAreRejected(pattern: String) {
        #expect(throws: Glob.SyntaxError.self) { try Glob(pattern) }
    }
}
