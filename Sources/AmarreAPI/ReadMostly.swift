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
        // Writers first: a steady stream of readers must not hold a change off indefinitely.
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
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
