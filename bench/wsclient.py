"""A small, fast WebSocket client on raw sockets, for the benchmarks.

Why not `websockets` (PyPI)? Its asyncio machinery costs ~50 us per message
in this interpreter, more than the servers being measured spend. These
clients parse frames by hand and do nothing else:

* `Conn.roundtrip`-style use: blocking socket, one frame out, one frame in.
* `Conn.feed`: walks every frame of a received chunk (~0.3 us per frame),
  counts the records that carry a marker, answers pings, notes close frames
  and `amarre.replay_gap` notices.
* `Conn.feed_ordered`: the same, and checks that the records' counters run
  0, 1, 2, ... with no gap, duplicate or reordering (a slow reader's check).

Client frames are masked as RFC 6455 requires (the key is random per
connection, not per frame; servers do not check that). Server frames are
never masked.
"""
from __future__ import annotations

import base64
import os
import socket

OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA
GAP_MARK = b'"amarre.replay_gap"'


class HandshakeError(Exception):
    def __init__(self, status: int, head: bytes):
        super().__init__(f"WebSocket handshake refused: HTTP {status}: {head[:200]!r}")
        self.status = status


def _mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if not n:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def client_frame(payload: bytes, key: bytes, opcode: int = OP_TEXT) -> bytes:
    """One masked, final client frame."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0xFE)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0xFF)) + n.to_bytes(8, "big")
    return head + key + _mask(payload, key)


class Conn:
    """One client connection (HTTP/1.1 upgrade, then frames)."""

    def __init__(self, host: str, port: int, path: str, timeout: float = 10.0, headers: dict | None = None,
                 rcvbuf: int | None = None):
        self.key = os.urandom(4)
        self.pending = b""
        self.close_code: int | None = None
        self.eof = False
        self.other_frames = 0
        # `amarre.replay_gap` notices seen by `feed` / `feed_ordered`, and the first one.
        self.gaps = 0
        self.first_gap: bytes | None = None
        self.gap_notices: list[bytes] = []
        # Fields for the callers' own bookkeeping.
        self.count = 0
        self.last_n: bytes | None = None
        self.done_at: float | None = None
        # `feed_ordered`: the counter expected next, and the records that broke the order.
        self.next_n = 0
        self.disorder = 0
        self.first_disorder: tuple[int, bytes] | None = None
        if rcvbuf is None:
            sock = socket.create_connection((host, port), timeout=timeout)
        else:
            # A small receive buffer set before connecting (the window is sized from it): a
            # slow reader then holds little in the kernel, and the server sees it lag sooner.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.settimeout(timeout)
            try:
                sock.connect((host, port))
            except BaseException:
                sock.close()
                raise
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            nonce = base64.b64encode(os.urandom(16)).decode()
            origin = f"http://{host}:{port}"
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
                + "\r\n"
            )
            sock.sendall(request.encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    raise HandshakeError(0, data)
                data += chunk
                if len(data) > 65536:
                    raise HandshakeError(0, data)
            head, _, rest = data.partition(b"\r\n\r\n")
            try:
                status = int(head.split(b" ", 2)[1])
            except (IndexError, ValueError):
                raise HandshakeError(0, head) from None
            if status != 101:
                raise HandshakeError(status, head)
            self.pending = rest
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    # --- sending -------------------------------------------------------------

    def frame(self, payload: bytes, opcode: int = OP_TEXT) -> bytes:
        return client_frame(payload, self.key, opcode)

    def send_text(self, payload: bytes) -> None:
        self.sock.sendall(self.frame(payload))

    def close(self) -> None:
        """Sends a close frame (1000) if the socket is still usable, then closes it."""
        try:
            if self.close_code is None and not self.eof:
                self.sock.setblocking(True)
                self.sock.settimeout(0.5)
                self.sock.sendall(self.frame(b"\x03\xe8", OP_CLOSE))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    # --- receiving, one frame at a time (latency paths) ------------------------

    def _take(self):
        """One complete frame from `pending` as (first byte, payload), or None."""
        data = self.pending
        n = len(data)
        if n < 2:
            return None
        ln = data[1] & 0x7F
        h = 2
        if ln == 126:
            if n < 4:
                return None
            h, ln = 4, (data[2] << 8) | data[3]
        elif ln == 127:
            if n < 10:
                return None
            h, ln = 10, int.from_bytes(data[2:10], "big")
        end = h + ln
        if end > n:
            return None
        b0 = data[0]
        payload = data[h:end]
        self.pending = data[end:]
        return b0, payload

    def next_text(self) -> bytes:
        """Blocks until the next text frame; answers pings; raises on close/EOF."""
        while True:
            got = self._take()
            if got is None:
                chunk = self.sock.recv(262144)
                if not chunk:
                    self.eof = True
                    raise ConnectionError("server closed the connection")
                self.pending += chunk
                continue
            b0, payload = got
            op = b0 & 0x0F
            if op == OP_TEXT:
                return payload
            self._control(op, payload)

    def _control(self, op: int, payload: bytes) -> None:
        if op == OP_PING:
            try:
                self.sock.sendall(self.frame(payload, OP_PONG))
            except (BlockingIOError, InterruptedError):
                pass
        elif op == OP_CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            raise ConnectionError(f"server sent close {self.close_code}: {payload[2:]!r}")
        elif op != OP_PONG:
            self.other_frames += 1

    # --- receiving in bulk (throughput paths) -----------------------------------

    def feed(self, chunk: bytes, marker: bytes) -> int:
        """Walks the frames of `chunk` (plus what was left over), counts the text frames
        whose first 48 bytes contain `marker`, and keeps the 8 bytes after the marker of the
        last one in `last_n`. Returns the count. Close frames set `close_code`."""
        data = self.pending + chunk if self.pending else chunk
        pos = 0
        n = len(data)
        count = 0
        last = -1
        mlen = len(marker)
        find = data.find
        while n - pos >= 2:
            ln = data[pos + 1] & 0x7F
            if ln < 126:
                h = 2
            elif ln == 126:
                if n - pos < 4:
                    break
                h = 4
                ln = (data[pos + 2] << 8) | data[pos + 3]
            else:
                if n - pos < 10:
                    break
                h = 10
                ln = int.from_bytes(data[pos + 2:pos + 10], "big")
            end = pos + h + ln
            if end > n:
                break
            b0 = data[pos]
            if b0 == 0x81:
                i = find(marker, pos + h, min(end, pos + h + 48))
                if i >= 0:
                    count += 1
                    last = i + mlen
                elif find(GAP_MARK, pos + h, min(end, pos + h + 48)) >= 0:
                    self._gap(data[pos + h:end])
            else:
                self._other(b0, data[pos + h:end])
            pos = end
        if last >= 0:
            self.last_n = data[last:last + 8]
        self.pending = data[pos:] if pos < n else b""
        return count

    def feed_ordered(self, chunk: bytes, marker: bytes) -> int:
        """`feed`, and every record's 8-digit counter (after `marker`) must be `next_n`:
        a record missing, repeated or out of place counts in `disorder` (the first one is kept
        in `first_disorder`), and the expectation follows what arrived."""
        data = self.pending + chunk if self.pending else chunk
        pos = 0
        n = len(data)
        count = 0
        last = -1
        mlen = len(marker)
        find = data.find
        expect = self.next_n
        while n - pos >= 2:
            ln = data[pos + 1] & 0x7F
            if ln < 126:
                h = 2
            elif ln == 126:
                if n - pos < 4:
                    break
                h = 4
                ln = (data[pos + 2] << 8) | data[pos + 3]
            else:
                if n - pos < 10:
                    break
                h = 10
                ln = int.from_bytes(data[pos + 2:pos + 10], "big")
            end = pos + h + ln
            if end > n:
                break
            b0 = data[pos]
            if b0 == 0x81:
                i = find(marker, pos + h, min(end, pos + h + 48))
                if i >= 0:
                    count += 1
                    last = i + mlen
                    digits = data[last:last + 8]
                    try:
                        got = int(digits)
                    except ValueError:
                        got = -1
                    if got != expect:
                        self.disorder += 1
                        if self.first_disorder is None:
                            self.first_disorder = (expect, digits)
                    expect = got + 1
                elif find(GAP_MARK, pos + h, min(end, pos + h + 48)) >= 0:
                    self._gap(data[pos + h:end])
            else:
                self._other(b0, data[pos + h:end])
            pos = end
        self.next_n = expect
        if last >= 0:
            self.last_n = data[last:last + 8]
        self.pending = data[pos:] if pos < n else b""
        return count

    def _gap(self, payload: bytes) -> None:
        self.gaps += 1
        if self.first_gap is None:
            self.first_gap = payload[:200]
        if len(self.gap_notices) < 5:
            self.gap_notices.append(payload[:200])

    def _other(self, b0: int, payload: bytes) -> None:
        op = b0 & 0x0F
        if op == OP_CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        elif op == OP_PING:
            self._control(op, payload)
        elif op != OP_PONG:
            self.other_frames += 1
