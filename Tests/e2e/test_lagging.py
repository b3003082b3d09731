"""Delivery from the log (issue 11): a client that falls behind catches up from the store and
rejoins the live stream, with no gap, no duplicate and nothing closed; only a client that stops
reading is closed (test_limits); the store's backlog bounds the host's memory."""
import json
import re
import time

from conftest import agent, command_instance, stack_fixture, wait_for
from wsraw import TEXT

CLIENT_BUFFER = 1 << 20

lagging = stack_fixture(
    env={"AMARRE_CLIENT_BUFFER_BYTES": str(CLIENT_BUFFER), "AMARRE_CLIENT_STALL_MS": "30000",
         "AMARRE_STORE_BACKLOG_BYTES": str(16 << 20),
         # Keep every record of the floods (retention would otherwise show a lagging reader a gap).
         "AMARRE_RETAIN_RECORDS": "2000000"},
    instances=[command_instance("flooder", agent("flooder.py"))])


def metric(stack, name: str) -> float:
    text = stack.get("/metrics").text
    m = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def read_flood(ws, count: int, *, throttle: float = 0.0, timeout: float = 240) -> tuple[list[int], list[int]]:
    """Reads until e2e.flood_done; returns the flood's own seq numbers and every _seq, in order.
    `throttle`: seconds to pause after each 1000 frames (a slow reader)."""
    floods, seqs, frames = [], [], 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        f = ws.recv_message(timeout=60, skip_amarre=False)
        assert f.opcode == TEXT, f"closed: {f.close_code}"
        rec = json.loads(f.payload)
        assert rec.get("type") != "amarre.replay_gap", rec
        if "_seq" in rec:
            seqs.append(rec["_seq"])
        if rec.get("type") == "e2e.flood":
            floods.append(rec["seq"])
        elif rec.get("type") == "e2e.flood_done":
            return floods, seqs
        frames += 1
        if throttle and frames % 1000 == 0:
            time.sleep(throttle)  # reading slowly on purpose, not waiting for an event
    raise AssertionError(f"no e2e.flood_done after {len(floods)} of {count}")


def test_a_lagging_client_catches_up_from_the_log_and_misses_nothing(lagging):
    sid = lagging.create("flooder")["id"]
    count = 200_000
    slow = lagging.raw_ws(f"/sessions/{sid}", rcvbuf=16384)
    fast = lagging.raw_ws(f"/sessions/{sid}")
    try:
        lagging.wait_clients(sid, 2)
        before = metric(lagging, "amarre_catchups_total")
        for ws in (slow, fast):
            hello = json.loads(ws.recv_message(skip_amarre=False).payload)
            assert hello["type"] == "amarre.hello"
        fast.send_text(json.dumps({"type": "e2e.flood", "count": count, "size": 160}))
        floods, seqs = read_flood(fast, count)
        assert floods == list(range(count))
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the fast client: no gap, no duplicate"
        # The slow one reads at a fraction of the rate: it falls behind, is fed from the store,
        # and is never closed.
        floods, slow_seqs = read_flood(slow, count, throttle=0.02)
        assert floods == list(range(count))
        assert slow_seqs == list(range(slow_seqs[0], slow_seqs[0] + len(slow_seqs))), "no gap, no duplicate"
        assert slow_seqs == seqs
        assert metric(lagging, "amarre_catchups_total") > before, "the slow client caught up from the log"
        assert lagging.summary(sid)["clients"] == 2, "nobody was closed"
        # Back in the live stream: a new record reaches it at once.
        fast.send_text(json.dumps({"type": "e2e.flood", "count": 1, "size": 10}))
        floods, _ = read_flood(slow, 1, timeout=30)
        assert floods == [0]
    finally:
        slow.close_socket()
        fast.close_socket()
        lagging.delete(f"/sessions/{sid}")


def test_a_200_megabyte_burst_keeps_the_host_under_128_megabytes(lagging):
    """The store's backlog is bounded (AMARRE_STORE_BACKLOG_BYTES): past it the host stops reading
    the agent instead of growing. Measured with the host's peak resident memory (VmHWM)."""
    sid = lagging.create("flooder")["id"]
    count = 1_000_000  # about 200 bytes each with the framing: 200 MB
    reader = lagging.raw_ws(f"/sessions/{sid}")
    try:
        lagging.wait_clients(sid, 1)
        reader.recv_message(skip_amarre=False)  # hello
        reader.send_text(json.dumps({"type": "e2e.flood", "count": count, "size": 150}))
        frames = 0
        while True:
            f = reader.recv_message(timeout=60)
            assert f.opcode == TEXT, f"closed: {f.close_code}"
            frames += 1
            if b'"e2e.flood_done"' in f.payload:
                break
        assert frames == count + 1
        status = open(f"/proc/{lagging.host_pid}/status").read()
        peak_kib = int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1))
        print(f"amarre-host peak RSS during a {count}-record burst: {peak_kib / 1024:.1f} MiB")
        assert peak_kib < 128 * 1024, f"peak RSS {peak_kib} KiB"
    finally:
        reader.close_socket()
        lagging.delete(f"/sessions/{sid}")


short_memory = stack_fixture(
    env={"AMARRE_CLIENT_BUFFER_BYTES": str(CLIENT_BUFFER), "AMARRE_RETAIN_RECORDS": "20000"},
    instances=[command_instance("flooder", agent("flooder.py"))])


def test_a_client_lagging_past_retention_is_told_what_is_gone_and_gets_the_rest(short_memory):
    """Retention keeps 20,000 records; a slow reader of a 100,000-record flood loses what was
    dropped before it got there: each loss is announced (amarre.replay_gap), everything else
    arrives in order, and it reaches the end of the flood (a gap never ends the catch-up early)."""
    sid = short_memory.create("flooder")["id"]
    slow = short_memory.raw_ws(f"/sessions/{sid}", rcvbuf=16384)
    try:
        short_memory.wait_clients(sid, 1)
        hello = json.loads(slow.recv_message(skip_amarre=False).payload)
        slow.send_text(json.dumps({"type": "e2e.flood", "count": 100_000, "size": 160}))
        # Not reading until the whole flood is in the log: far more than retention keeps has
        # gone past this reader.
        wait_for(lambda: short_memory.summary(sid)["lastSeq"] >= hello["seq"] + 100_001, timeout=120,
                 what="the flood to be relayed")
        covered, gaps, frames, done = [], 0, 0, False
        deadline = time.monotonic() + 240
        while not done and time.monotonic() < deadline:
            f = slow.recv_message(timeout=60, skip_amarre=False)
            assert f.opcode == TEXT, f"closed: {f.close_code}"
            rec = json.loads(f.payload)
            if rec.get("type") == "amarre.replay_gap":
                gaps += 1
                covered.extend(range(rec["from"], rec["to"] + 1))
            elif "_seq" in rec:
                covered.append(rec["_seq"])
                done = rec.get("type") == "e2e.flood_done"
            frames += 1
        assert done, "the end of the flood arrived"
        assert gaps >= 1, "the reader fell behind retention"
        # Every number from the first on is either delivered or announced missing, once, in order.
        assert covered == list(range(hello["seq"] + 1, covered[-1] + 1))
    finally:
        slow.close_socket()
        short_memory.delete(f"/sessions/{sid}")


small_backlog = stack_fixture(
    env={"AMARRE_STORE_BACKLOG_BYTES": str(64 << 10), "AMARRE_COMMIT_INTERVAL_MS": "200"},
    instances=[command_instance("flooder", agent("flooder.py"))])


def test_past_the_store_backlog_the_agent_waits_and_nothing_is_lost(small_backlog):
    """With a 64 KiB backlog a 4 MB flood outruns the store's writer: the host stops reading the
    agent until the writer has caught up (counted), and every record still arrives in order."""
    sid = small_backlog.create("flooder")["id"]
    reader = small_backlog.raw_ws(f"/sessions/{sid}")
    try:
        small_backlog.wait_clients(sid, 1)
        before = metric(small_backlog, "amarre_agent_reads_paused_total")
        reader.recv_message(skip_amarre=False)  # hello
        reader.send_text(json.dumps({"type": "e2e.flood", "count": 20_000, "size": 160}))
        floods, seqs = read_flood(reader, 20_000, timeout=120)
        assert floods == list(range(20_000))
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert metric(small_backlog, "amarre_agent_reads_paused_total") > before
    finally:
        reader.close_socket()
        small_backlog.delete(f"/sessions/{sid}")
