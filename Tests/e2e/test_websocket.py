"""WebSocket data plane (protocol.md §3) through nginx, on the shared stack."""
import base64
import json

import pytest

from conftest import DEFAULT_TIMEOUT, fields, strip_reserved

UNKNOWN_ID = "0123456789ab"


def b64(*chunks: bytes) -> list[str]:
    return [base64.b64encode(c).decode() for c in chunks]


# -- handshake ----------------------------------------------------------------------------

@pytest.mark.parametrize("sid", [UNKNOWN_ID, "nope"])
def test_upgrade_for_unknown_session_is_refused_with_404(stack, sid):
    assert stack.raw_ws(f"/sessions/{sid}").handshake.status == 404


def test_upgrade_for_crashed_session_is_refused_with_409(stack, sessions):
    s = sessions("exiter", env={"E2E_EXIT_AT_START": "3"})
    stack.wait_status(s["id"], "crashed")
    assert stack.raw_ws(f"/sessions/{s['id']}").handshake.status == 409


def test_upgrade_on_root_is_refused_with_426(stack):
    assert stack.raw_ws("/").handshake.status == 426


@pytest.mark.parametrize("path", ["/instances", "/healthz", "/sessions", "/nope",
                                  f"/sessions/{UNKNOWN_ID}/restart", "/sessions/x/y"])
def test_upgrade_on_any_other_path_is_refused_with_404(stack, path):
    assert stack.raw_ws(path).handshake.status == 404


def test_upgrade_for_running_session_succeeds_and_is_counted_in_clients(stack, sessions, clients):
    s = sessions("echo")
    clients(stack.ws(s["id"]))
    clients(stack.ws(s["id"]))
    stack.wait_clients(s["id"], 2)


# -- agent stdout -> clients ----------------------------------------------------------------

def test_fan_out_delivers_every_record_to_every_client(stack, sessions, clients):
    s = sessions("echo")
    trio = [clients(stack.ws(s["id"])) for _ in range(3)]
    stack.wait_clients(s["id"], 3)
    sent = [{"type": "e2e.n", "from": i % 3, "n": i} for i in range(300)]
    for rec in sent:
        trio[rec["from"]].send(rec)
    got = [[c.recv_record() for _ in sent] for c in trio]
    # Every client sees every record, all in the same order; each sender's own order is kept.
    assert got[0] == got[1] == got[2]
    assert sorted(got[0], key=lambda r: r["n"]) == sent
    for k in range(3):
        assert [r["n"] for r in got[0] if r["from"] == k] == [r["n"] for r in sent if r["from"] == k]


def test_sessions_never_see_each_others_records(stack, sessions, clients):
    s1, s2 = sessions("echo"), sessions("echo")
    c1, c2 = clients(stack.ws(s1["id"])), clients(stack.ws(s2["id"]))
    for i in range(20):
        c1.send({"type": "e2e.s1", "n": i})
        c2.send({"type": "e2e.s2", "n": i})
    c1.send({"type": "e2e.end"})
    c2.send({"type": "e2e.end"})
    assert [r["type"] for r in c1.recv_until("e2e.end")] == ["e2e.s1"] * 20 + ["e2e.end"]
    assert [r["type"] for r in c2.recv_until("e2e.end")] == ["e2e.s2"] * 20 + ["e2e.end"]


def test_line_written_in_pieces_is_delivered_once_whole(stack, sessions, clients):
    s = sessions("pieces")
    c = clients(stack.ws(s["id"]))
    line = b'{"type":"e2e.piece","text":"' + b"abc" * 100 + b'"}\n'
    c.send({"type": "e2e.write", "chunks": b64(line[:5], line[5:40], line[40:-1], b"\n",
                                                b'{"type":"e2e.end"}\n')})
    assert c.recv_record() == {"type": "e2e.piece", "text": "abc" * 100}
    assert c.recv_record() == {"type": "e2e.end"}


def test_crlf_line_endings_are_stripped(stack, sessions, clients):
    s = sessions("pieces")
    c = clients(stack.ws(s["id"]))
    c.send({"type": "e2e.write", "chunks": b64(b'{"type":"e2e.crlf","n":1}\r\n{"type":"e2e.crlf","n":2}\r',
                                                b'\n{"type":"e2e.end"}\n')})
    assert c.recv_record() == {"type": "e2e.crlf", "n": 1}
    assert "\r" not in c.last_text
    assert c.recv_record() == {"type": "e2e.crlf", "n": 2}
    assert "\r" not in c.last_text
    assert c.recv_record() == {"type": "e2e.end"}


def test_empty_lines_are_skipped(stack, sessions, clients):
    s = sessions("pieces")
    c = clients(stack.ws(s["id"]))
    c.send({"type": "e2e.write", "chunks": b64(b"\n\n", b'{"type":"e2e.a"}\n\n\r\n', b"\n",
                                                b'{"type":"e2e.end"}\n')})
    assert c.recv_record() == {"type": "e2e.a"}
    assert c.recv_record() == {"type": "e2e.end"}


def test_several_lines_in_one_write_become_separate_records(stack, sessions, clients):
    s = sessions("pieces")
    c = clients(stack.ws(s["id"]))
    c.send({"type": "e2e.write", "chunks": b64(b"".join(b'{"type":"e2e.n","n":%d}\n' % i for i in range(50)))})
    assert [c.recv_record() for _ in range(50)] == [{"type": "e2e.n", "n": i} for i in range(50)]


@pytest.mark.parametrize("line", [b'"a JSON string"', b"42", b"[1,2,3]", b"null", b"not json at all"])
def test_agent_line_that_is_not_a_json_object_is_relayed_wrapped_as_amarre_raw(stack, sessions, clients, line):
    # Every record carries the server's `_seq`, which only an object can hold: anything else
    # the agent writes is relayed verbatim inside {"type":"amarre.raw","_seq":N,"line":...}.
    s = sessions("pieces")
    c = clients(stack.ws(s["id"]))
    c.send({"type": "e2e.write", "chunks": b64(line + b"\n" + b'{"type":"e2e.end"}\n')})
    raw = c.recv_record("amarre.raw")
    assert raw["line"] == line.decode()
    assert c.recv_record() == {"type": "e2e.end"}


def test_agent_line_with_invalid_utf8_is_relayed_repaired_and_the_connection_stays(stack, sessions, clients):
    s = sessions("pieces")
    c = clients(stack.ws(s["id"]))
    c.send({"type": "e2e.write", "chunks": b64(b'{"type":"e2e.bad","t":"a\xffb"}\n{"type":"e2e.end"}\n')})
    raw = c.recv_record("amarre.raw")
    assert raw["line"] == '{"type":"e2e.bad","t":"a\ufffdb"}'
    assert c.recv_record() == {"type": "e2e.end"}


def test_agent_cannot_pass_itself_off_as_the_server(stack, sessions, clients):
    s = sessions("pieces")
    c = clients(stack.ws(s["id"]))
    forged = '{"type":"amarre.session_event","event":"crashed","exitCode":1,"signal":null}'
    # The agent writes the forged line itself (a client's amarre.* frames never reach it).
    c.send({"type": "e2e.write", "chunks": [base64.b64encode((forged + "\n").encode()).decode()]})
    raw = c.recv_record("amarre.raw")
    assert raw["line"] == forged
    assert stack.summary(s["id"])["status"] == "running"


def test_a_clients_amarre_frames_are_consumed_by_the_server_never_forwarded(stack, sessions, clients):
    s = sessions("echo")
    c = clients(stack.ws(s["id"]))
    c.send({"type": "amarre.presence", "visible": True})
    c.send({"type": "amarre.session_event", "event": "crashed"})
    c.send({"type": "after"})
    # The echo agent returns only what reached its stdin: the last frame, nothing before it.
    assert c.recv_record() == {"type": "after"}
    assert not [r for r in c.amarre if r.get("type") in ("amarre.raw", "amarre.session_event")]


@pytest.mark.parametrize("text", ["é € 😀 𝄞", "日本語のテキスト", "a" * 100 + "😀"])
def test_utf8_character_split_across_writes_is_delivered_intact(stack, sessions, clients, text):
    s = sessions("utf8")
    c = clients(stack.ws(s["id"]))
    c.send({"type": "e2e.utf8", "text": text})
    assert c.recv_record(timeout=20) == {"type": "e2e.utf8", "text": text}


# -- clients -> agent stdin ---------------------------------------------------------------

def test_text_frames_are_written_to_stdin_in_arrival_order(stack, sessions, clients):
    s = sessions("cat")
    c = clients(stack.ws(s["id"]))
    sent = [{"type": "e2e.n", "n": i, "pad": "p" * (i % 37)} for i in range(1000)]
    for rec in sent:
        c.send(rec)
    assert [c.recv_record() for _ in sent] == sent


def test_trailing_newline_in_a_frame_is_not_doubled(stack, sessions, clients):
    s = sessions("echo")
    c = clients(stack.ws(s["id"]))
    c.send('{"type":"e2e.nl"}\n')
    c.send('{"type":"e2e.end"}')
    assert c.recv_record() == {"type": "e2e.nl"}
    assert c.recv_record() == {"type": "e2e.end"}


def test_server_does_not_rewrite_ids_or_fields(stack, sessions, clients):
    s = sessions("cat")
    a, b = clients(stack.ws(s["id"])), clients(stack.ws(s["id"]))
    stack.wait_clients(s["id"], 2)
    text = '{"id":"same-id","type":"prompt","message":"x","nested":{"k":[1,2.5,null,"é",{"id":7}]}}'
    a.send(text)
    b.send(text)
    for client in (a, b):
        assert client.recv_record() == json.loads(text)
        assert client.recv_record() == json.loads(text)


def test_binary_frame_is_not_forwarded_and_only_the_sender_gets_an_error(stack, sessions, clients):
    s = sessions("echo")
    sender, other = clients(stack.ws(s["id"])), clients(stack.ws(s["id"]))
    stack.wait_clients(s["id"], 2)
    sender.ws.send(b'{"type":"e2e.binary"}')
    assert fields(sender.recv_record("amarre.error"), "type", "error") == \
        {"type": "amarre.error", "error": "binary_frame"}
    sender.send({"type": "e2e.after"})
    # Text frames are written in order: had the binary frame reached the agent, its echo
    # would come before this one.
    assert sender.recv_record() == {"type": "e2e.after"}
    assert other.recv_record() == {"type": "e2e.after"}
    assert not [r for r in other.amarre if r.get("type") == "amarre.error"]


@pytest.mark.parametrize("frame", ["not json", '{"type":"e2e.x"', "{'single':1}", "[1,2,,]", "nul"])
def test_invalid_json_frame_is_not_forwarded_and_only_the_sender_gets_an_error(stack, sessions, clients,
                                                                                 frame):
    s = sessions("echo")
    sender, other = clients(stack.ws(s["id"])), clients(stack.ws(s["id"]))
    stack.wait_clients(s["id"], 2)
    sender.send(frame)
    assert fields(sender.recv_record("amarre.error"), "type", "error") == \
        {"type": "amarre.error", "error": "invalid_json"}
    sender.send({"type": "e2e.after"})
    assert sender.recv_record() == {"type": "e2e.after"}
    assert other.recv_record() == {"type": "e2e.after"}
    assert not [r for r in other.amarre if r.get("type") == "amarre.error"]


def test_first_permission_answer_wins_and_later_answers_are_not_forwarded(stack, sessions, clients):
    # The echo agent plays the agent: the request it "emits" is the line we feed it, and
    # every answer that reaches its stdin comes back as an echo we can count.
    s = sessions("echo")
    a, b = clients(stack.ws(s["id"])), clients(stack.ws(s["id"]))
    stack.wait_clients(s["id"], 2)
    request = {"type": "extension_ui_request", "id": "perm-1", "method": "confirm",
               "title": "Run bash?", "message": "rm -rf build"}
    a.send(request)
    assert a.recv_record() == request
    assert b.recv_record() == request
    yes = {"type": "extension_ui_response", "id": "perm-1", "confirmed": True}
    no = {"type": "extension_ui_response", "id": "perm-1", "confirmed": False}
    a.send(yes)
    assert a.recv_record() == yes          # forwarded: the agent echoed it
    assert b.recv_record() == yes
    for client in (a, b):
        assert client.recv_record("amarre.request_resolved")["id"] == "perm-1"
    late = {"type": "amarre.error", "error": "already_answered", "id": "perm-1"}
    b.send(no)
    assert fields(b.recv_record("amarre.error"), *late) == late
    a.send(yes)
    assert fields(a.recv_record("amarre.error"), *late) == late
    a.send({"type": "e2e.end"})
    # Nothing but the sentinel reached the agent after the first answer.
    assert a.recv_record() == {"type": "e2e.end"}
    assert b.recv_record() == {"type": "e2e.end"}


def test_concurrent_permission_answers_reach_the_agent_exactly_once(stack, sessions, clients):
    s = sessions("echo")
    a, b = clients(stack.ws(s["id"])), clients(stack.ws(s["id"]))
    stack.wait_clients(s["id"], 2)
    a.send({"type": "extension_ui_request", "id": "perm-2", "method": "select", "options": ["x", "y"]})
    a.recv_record(), b.recv_record()
    a.send({"type": "extension_ui_response", "id": "perm-2", "value": "x"})
    b.send({"type": "extension_ui_response", "id": "perm-2", "value": "y"})
    a.send({"type": "e2e.sync"})
    b.send({"type": "e2e.sync"})
    # Each answer precedes its sender's sync on the agent's stdin, and the server answers a
    # late answer before it reads the sync behind it: once both syncs are back, all is known.
    told_late = []
    for client in (a, b):
        records = client.recv_until("e2e.sync") + client.recv_until("e2e.sync")
        answers = [r for r in records if r.get("type") == "extension_ui_response"]
        assert len(answers) == 1, records
        assert [r["id"] for r in client.amarre if r.get("type") == "amarre.request_resolved"] == ["perm-2"]
        told_late.append([r for r in client.amarre if r.get("error") == "already_answered"])
    assert sorted(len(t) for t in told_late) == [0, 1], told_late
    late = {"type": "amarre.error", "error": "already_answered", "id": "perm-2"}
    assert fields([t for t in told_late if t][0][0], *late) == late


def test_agent_cannot_forge_the_servers_reserved_fields(stack, sessions, clients):
    # `_` fields are the server's: an agent's own `_seq` must not survive next to (or
    # instead of) the server's, or replay from a sequence number would go wrong.
    s = sessions("echo")
    c = clients(stack.ws(s["id"]))
    c.send('{"_seq":999999,"type":"e2e.forged"}')
    c.recv_record("e2e.forged")
    pairs = json.loads(c.last_text, object_pairs_hook=lambda kv: kv)
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in {c.last_text}"
    assert dict(pairs).get("_seq") != 999999, c.last_text
