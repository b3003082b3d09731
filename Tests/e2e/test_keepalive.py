"""Keepalive (protocol.md §3): the server pings, answers pings, and drops a silent client."""
import json
import time

from conftest import command_instance, stack_fixture, strip_reserved
from wsraw import PING, PONG, Closed

PING_MS = 200

pinging = stack_fixture(env={"AMARRE_PING_INTERVAL_MS": str(PING_MS)},
                        instances=[command_instance("cat", ["cat"])])


def test_server_sends_pings_and_keeps_a_client_that_answers(pinging):
    sid = pinging.create("cat")["id"]
    ws = pinging.raw_ws(f"/sessions/{sid}")
    try:
        pings = 0
        deadline = time.monotonic() + 10
        while pings < 5:
            f = ws.recv_message(timeout=max(0.0, deadline - time.monotonic()), pong=False)
            if f.opcode == PING:
                pings += 1
                ws.send(PONG, f.payload)
        ws.send_text('{"type":"e2e.alive"}')
        assert strip_reserved(json.loads(ws.recv_message().payload)) == {"type": "e2e.alive"}
        assert pinging.summary(sid)["clients"] == 1
    finally:
        ws.close_socket()
        pinging.delete(f"/sessions/{sid}")


def test_client_that_never_answers_pings_is_dropped(pinging):
    sid = pinging.create("cat")["id"]
    ws = pinging.raw_ws(f"/sessions/{sid}")
    try:
        deadline = time.monotonic() + 10
        closed = None
        while closed is None:
            try:
                f = ws.recv_message(timeout=max(0.0, deadline - time.monotonic()), pong=False)
            except Closed:
                closed = "eof"
                break
            if f.opcode == 0x8:
                closed = f.close_code
        assert closed is not None
        pinging.wait_clients(sid, 0)
    finally:
        ws.close_socket()
        pinging.delete(f"/sessions/{sid}")
