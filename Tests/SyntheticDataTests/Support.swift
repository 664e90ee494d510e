import Crypto
import Foundation
@testable import SyntheticData

/// The repository root, from this file's location (Tests/SyntheticDataTests/Support.swift).
let projectRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

func loadSchema(_ name: String) throws -> Schema {
    try SchemaLoader.load(path: "\(projectRoot)/generators/\(name).yaml")
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

/// A strict RFC 4180 parser for checking output: returns the records, or the 0-based
/// record index and reason of the first violation.
enum StrictCSV {
    struct Violation: Error, Equatable {
        var record: Int
        var reason: String
    }

    static func parse(_ bytes: [UInt8]) -> Result<[[[UInt8]]], Violation> {
        var records: [[[UInt8]]] = []
        var fields: [[UInt8]] = []
        var field: [UInt8] = []
        var i = 0
        var inQuotes = false
        var wasQuoted = false
        let n = bytes.count
        while i < n {
            let byte = bytes[i]
            if inQuotes {
                if byte == 0x22 {
                    if i + 1 < n && bytes[i + 1] == 0x22 {
                        field.append(0x22)
                        i += 2
                        continue
                    }
                    inQuotes = false
                    i += 1
                    if i < n && bytes[i] != 0x2C && bytes[i] != 0x0A && bytes[i] != 0x0D {
                        return .failure(Violation(record: records.count, reason: "character after closing quote"))
                    }
                    continue
                }
                field.append(byte)
                i += 1
                continue
            }
            switch byte {
            case 0x22:
                if !field.isEmpty || wasQuoted {
                    return .failure(Violation(record: records.count, reason: "quote inside an unquoted field"))
                }
                inQuotes = true
                wasQuoted = true
                i += 1
            case 0x2C:
                fields.append(field)
                field = []
                wasQuoted = false
                i += 1
            case 0x0D where i + 1 < n && bytes[i + 1] == 0x0A:
                i += 1
            case 0x0A:
                fields.append(field)
                records.append(fields)
                fields = []
                field = []
                wasQuoted = false
                i += 1
            default:
                field.append(byte)
                i += 1
            }
        }
        if inQuotes { return .failure(Violation(record: records.count, reason: "end of file inside a quoted field")) }
        if !field.isEmpty || !fields.isEmpty || wasQuoted {
            fields.append(field)
            records.append(fields)
        }
        return .success(records)
    }
}

extension Array where Element == UInt8 {
    /// Lines split on LF (the generator never puts LF inside a field).
    var lines: [ArraySlice<UInt8>] { split(separator: 0x0A, omittingEmptySubsequences: false) }
}
