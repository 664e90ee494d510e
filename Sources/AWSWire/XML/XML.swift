/// A small XML subset for the S3 REST protocol: a reader for responses and an escaping
/// writer for request bodies.
///
/// Supported on read: the XML declaration, processing instructions, comments, a DOCTYPE
/// (skipped), CDATA sections, elements with attributes, character data with the predefined
/// entities (`&amp; &lt; &gt; &quot; &apos;`) and character references (`&#NN;`, `&#xNN;`).
/// Namespace prefixes are dropped: elements and attributes are known by their local name.
/// Not supported: entity declarations and external entities (never resolved, by design).
package enum XML {}

extension XML {
    /// One element of a parsed document.
    package struct Element: Sendable, Hashable {
        /// Local name (namespace prefix removed).
        package var name: String
        package var attributes: [Attribute]
        package var children: [Element]
        /// All character data directly inside this element, entities decoded, in document order.
        package var text: String

        package init(name: String, attributes: [Attribute] = [], children: [Element] = [], text: String = "") {
            self.name = name
            self.attributes = attributes
            self.children = children
            self.text = text
        }

        /// The first child element named `name`.
        package func child(_ name: String) -> Element? {
            self.children.first { $0.name == name }
        }

        /// All child elements named `name`, in document order.
        package func children(named name: String) -> [Element] {
            self.children.filter { $0.name == name }
        }

        /// The text of the first child element named `name`.
        package func childText(_ name: String) -> String? {
            self.child(name)?.text
        }

        /// The value of the attribute with local name `name`.
        package func attribute(_ name: String) -> String? {
            self.attributes.first { $0.name == name }?.value
        }
    }

    package struct Attribute: Sendable, Hashable {
        /// Local name (namespace prefix removed; `xmlns` declarations keep their full name).
        package var name: String
        package var value: String

        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Malformed or unsupported XML.
    package struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What was wrong.
        package var reason: String
        /// Byte offset in the input where it was noticed.
        package var offset: Int

        package var description: String { "XML parse error at byte \(self.offset): \(self.reason)" }
    }
}
