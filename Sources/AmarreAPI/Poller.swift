import CLinuxEpoll
import Glibc
import Synchronization

/// The epoll set amarre-api's threads share: the listening socket and every FastCGI
/// connection waiting for its next request, each registered `EPOLLONESHOT`, so one ready
/// descriptor wakes exactly one thread and is out of the set until that thread puts it back.
///
/// A table indexed by descriptor number records since when each connection has been waiting
/// (0: not waiting — being served, or not a connection). Taking a connection out of the table
/// is a compare-and-swap, so a thread woken for it and the idle sweep never both own it.
final class Poller: @unchecked Sendable {  // the table is only touched through its atomics
    enum Ready: Equatable {
        case ready(Int32)
        /// `wakeAll()` was called.
        case wake
        case timeout
        case interrupted
        case failed(Int32)
    }

    private let epollFD: Int32
    private let wakeRead: Int32
    private let wakeWrite: Atomic<Int32>
    private let setupErrno: Int32
    private let capacity: Int
    private let waiting: UnsafeMutablePointer<Atomic<UInt64>>
    private let lastSweep = Atomic<UInt64>(0)
    private let closed = Atomic<Bool>(false)

    /// A set for connections whose descriptor numbers are below `capacity`.
    init(capacity: Int) {
        self.capacity = capacity
        waiting = .allocate(capacity: capacity)
        for index in 0..<capacity { (waiting + index).initialize(to: Atomic(0)) }
        var error: Int32 = 0
        let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        if epoll < 0 { error = errno }
        var pipeFDs: [Int32] = [-1, -1]
        // Close-on-exec (amarre-api runs git); the read end never blocks.
        if error == 0,
            pipe(&pipeFDs) != 0 || fcntl(pipeFDs[0], F_SETFL, O_NONBLOCK) != 0
                || fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC) != 0
        {
            error = errno
        }
        epollFD = epoll
        wakeRead = pipeFDs[0]
        wakeWrite = Atomic(pipeFDs[1])
        if error == 0 {
            // Level-triggered, not one-shot: once the write end is closed every thread sees it.
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.fd = pipeFDs[0]
            if epoll_ctl(epoll, EPOLL_CTL_ADD, pipeFDs[0], &event) != 0 { error = errno }
        }
        setupErrno = error
    }

    /// Throws when the set could not be created (no descriptors left).
    func check() throws(StartupError) {
        guard setupErrno == 0 else {
            throw StartupError("cannot create the FastCGI poll set: \(UnixSocket.describe(errno: setupErrno))")
        }
    }

    /// Waits up to `timeout` for one ready descriptor.
    func wait(timeout: Duration) -> Ready {
        var event = epoll_event()
        let (seconds, attoseconds) = timeout.components
        let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        let count = epoll_wait(epollFD, &event, 1, milliseconds)
        if count == 0 { return .timeout }
        if count < 0 { return errno == EINTR ? .interrupted : .failed(errno) }
        let fd = event.data.fd
        return fd == wakeRead ? .wake : .ready(fd)
    }

    /// Adds the listening socket (one-shot: `rearm` after accepting).
    func add(_ listener: Int32) -> Bool {
        control(EPOLL_CTL_ADD, listener)
    }

    /// Adds a new connection that waits for its first request.
    func add(_ connection: Int32, waitingSince now: UInt64) -> Bool {
        markAndWatch(connection, since: now, operation: EPOLL_CTL_ADD)
    }

    /// Watches the listening socket again.
    func rearm(_ listener: Int32) {
        _ = control(EPOLL_CTL_MOD, listener)
    }

    /// Takes a ready connection out of the table: false when the sweep closed it first.
    func claim(_ connection: Int32) -> Bool {
        guard inRange(connection) else { return false }
        let since = waiting[Int(connection)].load(ordering: .sequentiallyConsistent)
        return since != 0
            && waiting[Int(connection)].compareExchange(expected: since, desired: 0, ordering: .sequentiallyConsistent).exchanged
    }

    /// Puts a served connection back to wait for its next request; false if it cannot be
    /// watched (the caller closes it).
    func putBack(_ connection: Int32, waitingSince now: UInt64) -> Bool {
        markAndWatch(connection, since: now, operation: EPOLL_CTL_MOD)
    }

    /// Marks `connection` waiting since `now` (before it is watched, so its event finds it
    /// marked), then watches it; undone if it cannot be watched.
    private func markAndWatch(_ connection: Int32, since now: UInt64, operation: Int32) -> Bool {
        guard inRange(connection) else { return false }
        waiting[Int(connection)].store(max(now, 1), ordering: .sequentiallyConsistent)
        guard control(operation, connection) else {
            waiting[Int(connection)].store(0, ordering: .sequentiallyConsistent)
            return false
        }
        return true
    }

    /// Closes connections that have waited `idleNanoseconds` or longer, at most once per
    /// `every` across all threads.
    func sweepIfDue(now: UInt64, idleNanoseconds: UInt64, every: UInt64) {
        let last = lastSweep.load(ordering: .relaxed)
        guard now &- last >= every, lastSweep.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else {
            return
        }
        for fd in 0..<capacity {
            let since = waiting[fd].load(ordering: .sequentiallyConsistent)
            guard since != 0, now > since, now - since >= idleNanoseconds,
                waiting[fd].compareExchange(expected: since, desired: 0, ordering: .sequentiallyConsistent).exchanged
            else { continue }
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, Int32(fd), nil)
            Glibc.close(Int32(fd))
        }
    }

    /// Wakes every thread waiting now or later (`wait` answers `.wake`).
    func wakeAll() {
        let fd = wakeWrite.exchange(-1, ordering: .sequentiallyConsistent)
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Closes every connection still waiting (the threads have stopped).
    func closeWaiting() {
        for fd in 0..<capacity where waiting[fd].exchange(0, ordering: .sequentiallyConsistent) != 0 {
            Glibc.close(Int32(fd))
        }
    }

    /// Releases the set; connections still waiting are closed.
    func close() {
        guard !closed.exchange(true, ordering: .sequentiallyConsistent) else { return }
        closeWaiting()
        wakeAll()
        if wakeRead >= 0 { Glibc.close(wakeRead) }
        if epollFD >= 0 { Glibc.close(epollFD) }
        waiting.deinitialize(count: capacity)
        waiting.deallocate()
    }

    private func inRange(_ fd: Int32) -> Bool {
        fd >= 0 && Int(fd) < capacity
    }

    private func control(_ operation: Int32, _ fd: Int32) -> Bool {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLONESHOT.rawValue
        event.data.fd = fd
        return epoll_ctl(epollFD, operation, fd, &event) == 0
    }
}
