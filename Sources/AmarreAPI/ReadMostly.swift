import Glibc

/// A value many threads read on every request and few ever change, behind a reader-writer
/// lock: readers do not exclude each other (no thread sleeps while another reads), unlike
/// `Mutex`, whose contended path parks threads on a priority-inheritance futex — measurable at
/// tens of thousands of requests a second on amarre-api's threads.
final class ReadMostly<Value>: @unchecked Sendable {  // `value` is only touched under `lock`
    private var value: Value
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init(_ value: Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deinitialize(count: 1)
        lock.deallocate()
    }

    /// `body` with shared access: it must not change anything.
    func read<R, E: Error>(_ body: (borrowing Value) throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    /// `body` with exclusive access.
    func write<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
