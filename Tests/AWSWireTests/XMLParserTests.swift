import AWSWire
import Testing

@Suite("XML subset")
struct XMLParserTests {
    @Test func elementsTextAndDeclaration() throws {
        let root = try XML.parse(#"""
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment -->
            <a x="1" y='two'><b>text</b><c/><b>more</b></a>
            """#)
        #expect(root.name == "a")
        #expect(root.attribute("x") == "1")
        #expect(root.attribute("y") == "two")
        #expect(root.children.map(\.name) == ["b", "c", "b"])
        #expect(root.children(named: "b").map(\.text) == ["text", "more"])
        #expect(root.childText("c") == "")
        #expect(root.child("missing") == nil)
    }

    @Test func entitiesAndCharacterReferences() throws {
        let root = try XML.parse("<k>&amp;&lt;&gt;&quot;&apos; &#65;&#x42;&#x1F600; caf&#233;</k>")
        #expect(root.text == "&<>\"' AB😀 café")
        let attr = try XML.parse("<k v=\"a&amp;b&#x3C;\"/>")
        #expect(attr.attribute("v") == "a&b<")
    }

    @Test func cdataAndUTF8() throws {
        let root = try XML.parse("<k><![CDATA[<not> & markup]]>ünï</k>")
        #expect(root.text == "<not> & markupünï")
    }

    @Test func namespacesAreIgnoredByLocalName() throws {
        let root = try XML.parse(#"<s3:Error xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Code>SlowDown</s3:Code></s3:Error>"#)
        #expect(root.name == "Error")
        #expect(root.childText("Code") == "SlowDown")
        #expect(root.attribute("xmlns:s3") == "http://s3.amazonaws.com/doc/2006-03-01/")
    }

    @Test func leadingWhitespaceBeforeTheDocument() throws {
        // CompleteMultipartUpload keeps the connection alive with whitespace before the XML.
        let root = try XML.parse("\n   \n  <?xml version=\"1.0\"?>\n<Done/>\n ")
        #expect(root.name == "Done")
    }

    @Test func doctypeIsSkippedNotInterpreted() throws {
        let root = try XML.parse("<!DOCTYPE r [<!ENTITY x \"boom\">]><r>ok</r>")
        #expect(root.text == "ok")
        #expect(throws: XML.ParseError.self) { try XML.parse("<!DOCTYPE r [<!ENTITY x \"boom\">]><r>&x;</r>") }
    }

    @Test("malformed documents are rejected", arguments: [
        "", "   ", "<a>", "<a></b>", "<a><b></a></b>", "text", "<a>x</a><b/>", "<a x=1/>", "<a>&bogus;</a>",
        "<a>&amp</a>", "<a>&#xZZ;</a>", "<a>&#x110000;</a>", "<a>&#xD800;</a>", "<a", "<a><!-- x</a>",
        "<a><![CDATA[x</a>", "</a>", "<a x=\"<\"/>",
    ])
    func malformed(_ text: String) {
        #expect(throws: XML.ParseError.self) { try XML.parse(text) }
    }

    @Test func depthIsLimited() {
        let deep = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: XML.ParseError.self) { try XML.parse(deep) }
        #expect((try? XML.parse(deep, limits: .init(maxDepth: 200))) != nil)
    }

    @Test func writerEscapesAndRoundTrips() throws {
        var w = XML.Writer()
        w.open("Root", attributes: [(name: "attr", value: "a\"b<c")])
        w.element("Key", text: "a&b<c>d\"e'f\r")
        w.element("Empty", text: "")
        w.close("Root")
        #expect(w.isComplete)
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(text == #"<?xml version="1.0" encoding="UTF-8"?><Root attr="a&quot;b&lt;c"><Key>a&amp;b&lt;c&gt;d&quot;e&apos;f&#xD;</Key><Empty></Empty></Root>"#)
        let back = try XML.parse(w.bytes)
        #expect(back.attribute("attr") == "a\"b<c")
        #expect(back.childText("Key") == "a&b<c>d\"e'f\r")
        #expect(XML.escape("<&>") == "&lt;&amp;&gt;")
    }
}
