import GRDB

// Every statement of the emulator's stores runs from the connection's statement cache.
//
// `db.execute(sql:)` and `Row.fetchOne(db, sql:)` compile the SQL on every call, and GRDB's
// authorizer (a Swift callback per column SQLite resolves) runs at every compile: under load
// that was about a tenth of the emulator's CPU. A cached statement is compiled once per
// connection and only re-bound afterwards. Multi-statement SQL (migrations) keeps
// `execute(sql:)`.
//
// Caveat of cached statements: a cursor iterates its statement, so the same SQL must not run
// again while the cursor is open (none of the stores does).

extension Database {
    /// Executes one SQL statement from the statement cache.
    func executeCached(sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try self.cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

extension Row {
    static func fetchOne(_ db: Database, cachedSQL sql: String, arguments: StatementArguments = StatementArguments()) throws -> Row? {
        try Row.fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    static func fetchAll(_ db: Database, cachedSQL sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Row] {
        try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }

    static func fetchCursor(_ db: Database, cachedSQL sql: String, arguments: StatementArguments = StatementArguments()) throws -> RowCursor {
        try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
    }
}

extension DatabaseValueConvertible where Self: StatementColumnConvertible {
    static func fetchOne(_ db: Database, cachedSQL sql: String, arguments: StatementArguments = StatementArguments()) throws -> Self? {
        try Self.fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    static func fetchAll(_ db: Database, cachedSQL sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Self] {
        try Self.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }
}
