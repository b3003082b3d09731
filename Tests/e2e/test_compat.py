"""A client written for the original amarre (plain REST + JSON text frames) works unchanged."""
import http.client
import json

from websockets.sync.client import connect


def test_client_written_for_the_original_amarre_works_unchanged(stack):
    # REST exactly as the original's clients do it: plain http.client, JSON body, no Origin.
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    conn.request("POST", "/sessions", body=json.dumps({"instanceId": "echo", "name": "compat"}),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    created = json.loads(resp.read())
    assert resp.status == 201
    sid = created["id"]
    conn.request("GET", "/sessions")
    resp = conn.getresponse()
    assert sid in [s["id"] for s in json.loads(resp.read())]
    conn.close()
    # WebSocket with the library's defaults (permessage-deflate offered, default max size).
    try:
        with connect(f"ws://127.0.0.1:{stack.port}/sessions/{sid}", open_timeout=10, legacy=False) as ws:
            sent = [{"type": "prompt", "message": f"line {i}", "id": str(i)} for i in range(20)]
            for rec in sent:
                ws.send(json.dumps(rec))
            got = []
            while len(got) < len(sent):
                rec = json.loads(ws.recv(timeout=10))
                if str(rec.get("type", "")).startswith("amarre."):
                    continue  # clients ignore unknown amarre.* records
                got.append({k: v for k, v in rec.items() if not k.startswith("_")})  # and unknown fields
            assert got == sent
    finally:
        conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
        conn.request("DELETE", f"/sessions/{sid}")
        assert conn.getresponse().status == 204
        conn.close()


def test_frame_with_several_json_lines_reaches_the_agent_as_several_lines(stack, sessions, clients):
    # Layer 2: one JSON value per text frame, or per line of a frame.
    s = sessions("echo")
    c = clients(stack.ws(s["id"]))
    c.send('{"type":"e2e.l1"}\n{"type":"e2e.l2"}\n')
    assert c.recv_record() == {"type": "e2e.l1"}
    assert c.recv_record() == {"type": "e2e.l2"}
