import CEggloguSQLite
import GRDB

/// SQLite's own calls on one of GRDB's cached statements, for the statements a merge runs once per
/// record: GRDB's argument arrays, cursors and rows cost more there than SQLite's work itself.
///
/// Each use binds every parameter, steps, and leaves the statement reset, so GRDB can use it again.
struct RawStatement {
    private let handle: OpaquePointer

    init(_ statement: Statement) {
        handle = statement.sqliteStatement
    }

    /// SQLite copies bound values at once.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ index: Int32, _ text: String) throws {
        var text = text
        try text.withUTF8 { utf8 in try bind(index, utf8) }
    }

    func bind(_ index: Int32, _ utf8: UnsafeBufferPointer<UInt8>) throws {
        try check(
            utf8.withMemoryRebound(to: CChar.self) { chars in
                guard let start = chars.baseAddress else {
                    // An empty buffer may have no address, and SQLite reads a NULL pointer as NULL.
                    return sqlite3_bind_text(handle, index, "", 0, Self.transient)
                }
                return sqlite3_bind_text(handle, index, start, Int32(chars.count), Self.transient)
            }
        )
    }

    func bind(_ index: Int32, _ value: Int64?) throws {
        try check(value.map { sqlite3_bind_int64(handle, index, $0) } ?? sqlite3_bind_null(handle, index))
    }

    /// Runs the statement to its next row: true for a row, false when it is done.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw error(code)
        }
    }

    /// Makes the statement ready for its next use; call after the last step.
    func reset() {
        sqlite3_reset(handle)
    }

    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
    }

    /// The column's bytes, valid until the next `step` or `reset`.
    func bytes(_ column: Int32) -> UnsafeRawBufferPointer {
        guard let start = sqlite3_column_blob(handle, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: start, count: Int(sqlite3_column_bytes(handle, column)))
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw error(code) }
    }

    private func error(_ code: Int32) -> DatabaseError {
        sqlite3_reset(handle)
        return DatabaseError(
            resultCode: ResultCode(rawValue: code),
            message: String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))),
            sql: String(cString: sqlite3_sql(handle))
        )
    }
}
