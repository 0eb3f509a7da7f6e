import TurnstileSQL

/// A connection as the shared statements' ``SQLSession``, with `?` placeholders.
///
/// The calls run at once, on the calling thread, which must be the connection's: the writer loop runs on the
/// writer's ``SQLiteThread`` (its task prefers it as executor), so a batch's statements run one after another
/// there, with no hop between them.
extension SQLiteDatabase: SQLSession {
    func query(_ statement: SQLStatement) async throws -> [any SQLRow] {
        try rows(statement)
    }
}
