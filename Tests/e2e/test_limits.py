"""Named buffer limits: oversized agent records and slow clients (protocol.md §3, MUST (ours))."""
import base64
import json
import time

from conftest import agent, command_instance, stack_fixture
from wsraw import TEXT, Closed

MAX_RECORD = 64 * 1024
CLIENT_BUFFER = 1 << 20

limits = stack_fixture(
    env={"AMARRE_MAX_RECORD_BYTES": str(MAX_RECORD), "AMARRE_CLIENT_BUFFER_BYTES": str(CLIENT_BUFFER),
         # A client that stops reading is closed after this (one that only falls behind catches up).
         "AMARRE_CLIENT_STALL_MS": "2000"},
    instances=[command_instance("pieces", agent("pieces.py")), command_instance("flooder", agent("flooder.py"))])


def b64(*chunks: bytes) -> list[str]:
    return [base64.b64encode(c).decode() for c in chunks]


def test_record_over_the_limit_is_dropped_with_a_notice_and_the_session_goes_on(limits):
    sid = limits.create("pieces")["id"]
    a, b = limits.ws(sid), limits.ws(sid)
    try:
        limits.wait_clients(sid, 2)
        # The oversized record arrives in pieces, between two normal ones.
        a.send({"type": "e2e.write", "chunks": b64(b'{"type":"e2e.before"}\n')})
        a.send({"type": "e2e.big", "size": 4 * MAX_RECORD, "pieces": 7, "n": 1})
        a.send({"type": "e2e.write", "chunks": b64(b'{"type":"e2e.after"}\n')})
        for client in (a, b):
            assert client.recv_record() == {"type": "e2e.before"}
            assert client.recv_record() == {"type": "e2e.after"}
            notices = [r for r in client.amarre if r.get("type") == "amarre.error"]
            assert len(notices) == 1, client.amarre
            notice = notices[0]
            assert notice["error"] == "record_too_large"
            assert notice["limit"] == MAX_RECORD
            assert notice["bytes"] > MAX_RECORD
        assert limits.summary(sid)["status"] == "running"
        # The drop is logged, naming the session.
        assert [ln for ln in limits.host_log().splitlines() if sid in ln and "record" in ln.lower()]
    finally:
        a.close(), b.close()
        limits.delete(f"/sessions/{sid}")


def test_record_just_under_the_limit_is_delivered(limits):
    sid = limits.create("pieces")["id"]
    c = limits.ws(sid)
    try:
        c.send({"type": "e2e.big", "size": MAX_RECORD - 16, "pieces": 3, "n": 2})
        got = c.recv_record()
        assert got["n"] == 2 and len(c.last_text) >= MAX_RECORD - 16
    finally:
        c.close()
        limits.delete(f"/sessions/{sid}")


def test_a_client_that_stops_reading_is_dropped_after_the_stall_time_while_a_fast_client_gets_everything(limits):
    sid = limits.create("flooder")["id"]
    count, size = 2000, 16 * 1024  # 32 MiB: far past the slow client's buffer plus the sockets' own
    slow = limits.raw_ws(f"/sessions/{sid}", rcvbuf=4096)
    assert slow.handshake.status == 101
    fast = limits.ws(sid)
    try:
        limits.wait_clients(sid, 2)
        fast.send({"type": "e2e.flood", "count": count, "size": size})
        start = time.monotonic()
        seqs = []
        while True:
            rec = fast.recv_record(timeout=30)
            if rec["type"] == "e2e.flood_done":
                break
            seqs.append(rec["seq"])
        assert seqs == list(range(count)), "the fast client got every record, in order"
        assert time.monotonic() - start < 60
        # The slow client has been dropped: it never read a byte, so its queue made no progress
        # for AMARRE_CLIENT_STALL_MS (the host never waits for it).
        limits.wait_clients(sid, 1, timeout=30)
        # Reading it now: a prefix of the records in order, then close 1013.
        got, code = [], None
        try:
            while True:
                f = slow.recv_message(timeout=30)
                if f.opcode == TEXT:
                    got.append(json.loads(f.payload)["seq"])
                else:
                    code = f.close_code
                    break
        except Closed:
            code = "TCP closed without a close frame"
        assert got == list(range(len(got))) and len(got) < count, "a prefix, in order"
        assert code == 1013
        assert limits.summary(sid)["status"] == "running"
    finally:
        fast.close()
        slow.close_socket()
        limits.delete(f"/sessions/{sid}")
