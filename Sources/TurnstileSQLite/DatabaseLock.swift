#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Synchronization

/// An exclusive lock on the database file, held by the one process that serves it for as long as its store is open.
///
/// SQLite alone lets a second process open the same file, and each process's read cache would then miss the other's
/// writes. The lock is `flock(2)`'s, which is separate from the `fcntl` locks SQLite takes on the same file, and which
/// the kernel drops when the process dies, so a `kill -9` never leaves the file locked. The descriptor is opened
/// close-on-exec, so child processes (the demo's crash check) do not inherit the lock.
final class DatabaseLock: Sendable {
    private let descriptor: Int32
    private let isHeld = Atomic<Bool>(true)

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Takes the lock on `path` (creating the file, empty, if missing), or throws ``SQLiteStoreError/inUse(path:)``
    /// at once when another process holds it.
    static func acquire(_ path: String) throws(SQLiteStoreError) -> DatabaseLock {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK { throw .inUse(path: path) }
            throw .cannotOpen(path: path, reason: String(cString: strerror(code)))
        }
        return DatabaseLock(descriptor: descriptor)
    }

    /// Lets the lock go; only the first call does anything. Call it after every SQLite connection to the file is
    /// closed: closing a descriptor of the file while SQLite holds `fcntl` locks on it would drop those.
    func release() {
        guard isHeld.exchange(false, ordering: .acquiringAndReleasing) else { return }
        close(descriptor)
    }

    deinit { release() }
}
