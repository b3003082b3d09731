"""A small WebSocket client on a bare socket (RFC 6455), for conformance and flow-control tests.

No library: the point is to send what a library would refuse to send (reserved bits, bad
opcodes, unmasked frames, broken UTF-8, invalid close codes) and to see every frame the
server sends, control frames included.
"""
from __future__ import annotations

import base64
import json
import hashlib
import os
import socket
import struct
import time
from dataclasses import dataclass, field

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class Closed(Exception):
    """The TCP connection ended (EOF or reset) before the frame was complete."""


@dataclass
class Frame:
    fin: bool
    rsv: int
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        assert self.opcode == CLOSE
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None


@dataclass
class Handshake:
    status: int
    headers: dict[str, str]
    body: bytes


def encode_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0,
                 mask: bool = True, length_override: int | None = None) -> bytes:
    head = bytearray([(0x80 if fin else 0) | (rsv & 0x7) << 4 | (opcode & 0xF)])
    n = len(payload) if length_override is None else length_override
    mbit = 0x80 if mask else 0
    if n < 126:
        head.append(mbit | n)
    elif n < 65536:
        head.append(mbit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mbit | 127)
        head += struct.pack("!Q", n)
    if not mask:
        return bytes(head) + payload
    key = os.urandom(4)
    # XOR with the 4-byte key, done on big integers: fast enough for a few MiB.
    reps = key * (len(payload) // 4 + 1)
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(reps[: len(payload)], "big")).to_bytes(
        len(payload), "big") if payload else b""
    return bytes(head) + key + masked


def close_payload(code: int | None, reason: bytes = b"") -> bytes:
    return b"" if code is None else struct.pack("!H", code) + reason


@dataclass
class RawWebSocket:
    sock: socket.socket
    handshake: Handshake
    buf: bytearray = field(default_factory=bytearray)

    # -- connection --------------------------------------------------------------------

    @classmethod
    def open(cls, host: str, port: int, path: str, *, origin: str | None = None,
             headers: dict[str, str] | None = None, rcvbuf: int | None = None,
             timeout: float = 10.0) -> "RawWebSocket":
        """Sends an upgrade request; returns whatever the server answered (check `.handshake.status`)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        raw = bytearray()
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in raw:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no handshake answer for {path}: {bytes(raw)!r}")
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
        head, _, rest = bytes(raw).partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1]) if status_line else 0
        hdrs: dict[str, str] = {}
        for line in header_lines:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        ws = cls(sock, Handshake(status, hdrs, rest))
        if status == 101:
            expected = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            assert hdrs.get("sec-websocket-accept") == expected, f"bad Sec-WebSocket-Accept: {hdrs}"
            ws.buf += rest
        else:
            # Read the (short) error body for diagnostics, without waiting on keep-alive.
            n = int(hdrs.get("content-length", "0") or 0)
            sock.settimeout(2)
            try:
                while len(ws.handshake.body) < n:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    ws.handshake.body += chunk
            except OSError:
                pass
            sock.close()
        return ws

    def close_socket(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # -- sending -----------------------------------------------------------------------

    def send_raw(self, data: bytes, chunk: int | None = None) -> None:
        if chunk is None:
            self.sock.sendall(data)
            return
        for i in range(0, len(data), chunk):
            self.sock.sendall(data[i:i + chunk])

    def send(self, opcode: int, payload: bytes = b"", **kw) -> None:
        chunk = kw.pop("chunk", None)
        self.send_raw(encode_frame(opcode, payload, **kw), chunk)

    def send_text(self, text: str | bytes, **kw) -> None:
        self.send(TEXT, text.encode() if isinstance(text, str) else text, **kw)

    def send_close(self, code: int | None = 1000, reason: bytes = b"") -> None:
        self.send(CLOSE, close_payload(code, reason))

    # -- receiving ---------------------------------------------------------------------

    def _fill(self, n: int, deadline: float) -> None:
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"waiting for {n} bytes, have {len(self.buf)}")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 20)
            except ConnectionResetError as e:
                raise Closed("connection reset") from e
            if not chunk:
                raise Closed("EOF")
            self.buf += chunk

    def recv_frame(self, timeout: float = 10.0) -> Frame:
        deadline = time.monotonic() + timeout
        self._fill(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        assert not b1 & 0x80, "server frames must not be masked"
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._fill(4, deadline)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._fill(10, deadline)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._fill(off + n, deadline)
        payload = bytes(self.buf[off:off + n])
        del self.buf[:off + n]
        return Frame(bool(b0 & 0x80), (b0 >> 4) & 0x7, b0 & 0xF, payload)

    def recv_message(self, timeout: float = 10.0, *, pong: bool = True,
                     skip_amarre: bool = True) -> Frame:
        """Next data message (fragments joined) or control frame other than a server ping.

        Server pings are answered (when `pong`) and skipped; text messages that are
        server `amarre.*` records are skipped when `skip_amarre`.
        """
        deadline = time.monotonic() + timeout
        parts: list[bytes] = []
        first: Frame | None = None
        while True:
            f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == PING:
                if pong:
                    self.send(PONG, f.payload)
                    continue
                return f
            if f.opcode >= 0x8:
                return f
            if first is None:
                first = f
            parts.append(f.payload)
            if not f.fin:
                continue
            msg = Frame(True, first.rsv, first.opcode, b"".join(parts))
            first, parts = None, []
            if skip_amarre and msg.opcode == TEXT and is_amarre_record(msg.payload):
                continue
            return msg

    def expect_close(self, timeout: float = 10.0) -> tuple[int | None, list[Frame]]:
        """Reads until the server's close frame; returns its code (None: no code, -1: TCP
        ended without a close frame) and the data messages seen before it."""
        seen: list[Frame] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                f = self.recv_message(max(0.0, deadline - time.monotonic()))
            except Closed:
                return -1, seen
            if f.opcode == CLOSE:
                return f.close_code, seen
            seen.append(f)

    def expect_eof(self, timeout: float = 5.0) -> bool:
        """After a close handshake the server must close TCP: True when it did."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.recv_frame(max(0.0, deadline - time.monotonic()))
        except Closed:
            return True
        except (TimeoutError, socket.timeout):
            return False


def is_amarre_record(payload: bytes) -> bool:
    head = payload[:64].lstrip()
    if not head.startswith(b"{"):
        return False
    try:
        rec = json.loads(payload)
    except ValueError:
        return False
    return isinstance(rec, dict) and str(rec.get("type", "")).startswith("amarre.")
