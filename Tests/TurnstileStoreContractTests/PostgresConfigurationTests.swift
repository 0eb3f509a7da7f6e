import Testing
import TurnstilePostgres

struct PostgresConfigurationTests {
    @Test("a postgres:// URL gives host, port, user, password and database; its redacted form has no password")
    func parsesURLs() throws {
        let full = try PostgresStoreConfiguration(url: "postgres://turnstile:s3cret@db.internal:6432/books")
        #expect(full.host == "db.internal" && full.port == 6432 && full.username == "turnstile")
        #expect(full.password == "s3cret" && full.database == "books")
        #expect(full.redacted == "postgres://turnstile@db.internal:6432/books")
        let plain = try PostgresStoreConfiguration(url: "postgresql://me@127.0.0.1/db")
        #expect(plain.port == 5432 && plain.password == nil)
    }

    @Test("a URL without a scheme, host, user or database is refused, and the message never shows the password")
    func refusesBadURLs() {
        for url in [
            "mysql://u:pw@h/db", "postgres://u:pw@/db", "postgres://h:5432/db", "postgres://u:pw@h",
            "postgres://u:pw@h/",
        ] {
            #expect {
                _ = try PostgresStoreConfiguration(url: url)
            } throws: { error in
                !"\(error)".contains("pw") && "\(error)".contains("is not a PostgreSQL URL")
            }
        }
    }
}
