"""Issue 14, search: `GET /search` over every kept session's records (SQLite FTS5), through nginx.

The contract: /work/notes/archive-contract.md ("Search"). Records are pi-shaped lines written by
the echo agent (a client sends them, the agent writes them back, the store keeps them) or by
the demo agent. Every test uses words of its own (`word()`), so tests never see each other's
records. Before searching, a test waits until `GET /sessions/<id>/events` shows its last
record: the index is written with the records, by the store's writer, in the same commit."""
from __future__ import annotations

import json
import time
import urllib.parse
import uuid

import pytest

from conftest import Stack, agent, command_instance, stack_fixture, wait_for

INSTANCES = [
    command_instance("echo", agent("echo.py")),
    {"id": "demo", "agent": "demo"},
]
search_stack = stack_fixture(env={"AMARRE_MAX_SESSIONS": "200", "AMARRE_DEMO_SPEED": "100"}, instances=INSTANCES)
UNKNOWN_ID = "0123456789ab"


# -- records ---------------------------------------------------------------------------------

def word(prefix: str = "zq") -> str:
    """A word no other test writes: letters only (FTS5's unicode61 tokenizer keeps it whole)."""
    return prefix + "".join(chr(ord("a") + int(d, 16)) for d in uuid.uuid4().hex[:10])


def user(text: str) -> dict:
    return {"type": "message_end", "message": {"role": "user", "content": [{"type": "text", "text": text}],
                                               "timestamp": 1}}


def assistant(text: str | None = None, thinking: str | None = None) -> dict:
    parts = []
    if thinking is not None:
        parts.append({"type": "thinking", "thinking": thinking})
    if text is not None:
        parts.append({"type": "text", "text": text})
    return {"type": "message_end", "message": {"role": "assistant", "content": parts, "timestamp": 2,
                                               "stopReason": "stop"}}


def tool_start(name: str, args: dict, call: str = "call-1") -> dict:
    return {"type": "tool_execution_start", "toolCallId": call, "toolName": name, "args": args}


def tool_end(text: str, call: str = "call-1", name: str = "bash") -> dict:
    return {"type": "tool_execution_end", "toolCallId": call, "toolName": name,
            "result": {"content": [{"type": "text", "text": text}]}, "isError": False}


def filler(n: int) -> str:
    """n ordinary words that no test searches for."""
    vocabulary = ["the", "build", "passes", "after", "renaming", "module", "and", "tests", "cover", "edge"]
    return " ".join(vocabulary[i % len(vocabulary)] for i in range(n))


def say(stack: Stack, sid: str, records: list) -> list[int]:
    """Has the echo agent of `sid` write `records`; returns their `_seq`s once they are stored."""
    client = stack.ws(sid)
    try:
        for r in records:
            client.send(r)
        seqs = []
        for _ in records:
            client.recv_record()
            seqs.append(json.loads(client.last_text)["_seq"])
    finally:
        client.close()
    wait_stored(stack, sid, seqs[-1])
    return seqs


def wait_stored(stack: Stack, sid: str, seq: int) -> None:
    def stored():
        r = stack.get(f"/sessions/{sid}/events?before={seq + 1}&limit=1")
        assert r.status == 200, r
        return r.json and r.json[-1]["_seq"] == seq
    wait_for(stored, what=f"record {seq} of {sid} to be stored")


# -- search ----------------------------------------------------------------------------------

def search(stack: Stack, q: str | None, **params) -> "object":
    query = {} if q is None else {"q": q}
    query.update({k: str(v) for k, v in params.items() if v is not None})
    return stack.get("/search?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote))


def found(stack: Stack, q: str, **params) -> dict:
    r = search(stack, q, **params)
    assert r.status == 200, f"search {q!r} {params} -> {r}"
    assert r.headers.get("content-type", "").split(";")[0] == "application/json"
    body = r.json
    assert set(body) == {"results", "next"}, body
    for res in body["results"]:
        check_result(res)
    return body


def check_result(res: dict) -> None:
    # sessionName: a named session's name; an unnamed one's is left out (or null).
    assert {"sessionId", "seq", "kind", "time", "snippet"} <= set(res), res
    assert isinstance(res.get("sessionName", ""), (str, type(None))), res
    assert res["kind"] in ("user", "assistant", "thinking", "tool_call", "tool_output"), res
    assert isinstance(res["seq"], int) and isinstance(res["time"], int)
    snippet = res["snippet"]
    assert isinstance(snippet["text"], str) and isinstance(snippet["matches"], list)
    spans = snippet["matches"]
    n = len(utf16(snippet["text"])) // 2
    for start, end in spans:
        assert 0 <= start < end <= n, (spans, snippet["text"])
    assert spans == sorted(spans), spans
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), f"overlapping matches {spans}"


def utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def span_text(text: str, span: list[int]) -> str:
    """The piece of `text` between UTF-16 code unit offsets, as JavaScript's slice() gives it."""
    start, end = span
    return utf16(text)[2 * start:2 * end].decode("utf-16-le")


def marked(res: dict) -> list[str]:
    return [span_text(res["snippet"]["text"], s) for s in res["snippet"]["matches"]]


def hits(body: dict) -> list[tuple[int, str]]:
    return [(r["seq"], r["kind"]) for r in body["results"]]


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def made(search_stack):
    created: list[str] = []

    def create(instance: str = "echo", **fields) -> str:
        sid = search_stack.create(instance, **fields)["id"]
        created.append(sid)
        return sid

    yield create
    for sid in created:
        search_stack.delete(f"/sessions/{sid}")


def stop(stack: Stack, sid: str) -> None:
    r = stack.post(f"/sessions/{sid}/stop")
    assert r.status == 200 and r.json["status"] == "stopped", r


# -- what is found ---------------------------------------------------------------------------

def test_a_word_said_in_a_tool_output_of_a_stopped_session_is_found(search_stack, made):
    w = word()
    sid = made(name="fix the migration")
    before = int(time.time() * 1000)
    seqs = say(search_stack, sid, [
        user("why does the migration fail"),
        tool_start("bash", {"command": "alembic upgrade head"}),
        tool_end(f"ERROR: column {w} does not exist\nhint: run the backfill first"),
        assistant("Fixed it by adding the backfill step."),
    ])
    after = int(time.time() * 1000)
    stop(search_stack, sid)
    body = found(search_stack, w)
    assert len(body["results"]) == 1, body
    res = body["results"][0]
    assert res["sessionId"] == sid and res["sessionName"] == "fix the migration"
    assert res["seq"] == seqs[2] and res["kind"] == "tool_output"
    assert before - 2000 <= res["time"] <= after + 2000, (before, res["time"], after)
    assert w in res["snippet"]["text"]
    assert marked(res) == [w]
    assert body["next"] is None


def test_each_part_of_a_record_is_found_with_its_kind(search_stack, made):
    w = word()
    sid = made()
    seqs = say(search_stack, sid, [
        user(f"please look for {w} in the logs"),
        assistant(text=f"I found {w} twice.", thinking=f"The logs mention {w}; grep will do."),
        tool_start("grep", {"pattern": w, "path": "/var/log"}),
        tool_end(f"/var/log/app.log: {w} at 12:00"),
    ])
    body = found(search_stack, w, session=sid)
    assert sorted(hits(body)) == sorted([(seqs[0], "user"), (seqs[1], "assistant"), (seqs[1], "thinking"),
                                         (seqs[2], "tool_call"), (seqs[3], "tool_output")])
    for res in body["results"]:
        assert marked(res) and all(m.lower() == w for m in marked(res)), res
    by_kind = {r["kind"]: r["snippet"]["text"] for r in body["results"]}
    assert "twice" in by_kind["assistant"] and "grep will do" in by_kind["thinking"]
    # The tool's name is part of the call.
    tool = found(search_stack, "grep", session=sid)
    assert (seqs[2], "tool_call") in hits(tool)


def test_only_complete_records_of_the_indexed_kinds_are_found(search_stack, made):
    w = word()
    sid = made()
    partial = {"type": "message_update", "assistantMessageEvent": {"type": "text_delta", "contentIndex": 0,
                                                                 "delta": w},
               "message": {"role": "assistant", "content": [{"type": "text", "text": w}]}}
    records = [
        {"type": "message_start", "message": {"role": "assistant", "content": [{"type": "text", "text": w}]}},
        partial,
        {"type": "agent_end", "messages": [{"role": "user", "content": [{"type": "text", "text": w}]}]},
        {"type": "tool_execution_update", "toolCallId": "c", "toolName": "bash",
         "partialResult": {"content": [{"type": "text", "text": w}]}},
        {"type": "e2e.note", "text": w},
        {"type": "extension_ui_request", "id": "n1", "method": "notify", "message": w},
    ]
    say(search_stack, sid, records)
    assert found(search_stack, w)["results"] == []


def test_a_demo_conversation_is_found_by_what_the_user_and_the_agent_said(search_stack, made):
    w = word()
    sid = made("demo", name="demo talk")
    c = search_stack.ws(sid)
    try:
        c.send({"type": "prompt", "message": f"Tell me about {w}"})
        c.recv_until("agent_end", timeout=20)
    finally:
        c.close()
    wait_stored(search_stack, sid, search_stack.summary(sid)["lastSeq"])
    kinds = {k for _, k in hits(found(search_stack, w, session=sid))}
    assert {"user", "assistant"} <= kinds, kinds


# -- query syntax ----------------------------------------------------------------------------

def test_a_phrase_matches_only_those_words_in_that_order(search_stack, made):
    a, b = word(), word()
    sid = made()
    seqs = say(search_stack, sid, [
        assistant(f"the {a} {b} was fixed"),
        assistant(f"{b} came first, then {a}"),
        assistant(f"{a} alone"),
    ])
    assert hits(found(search_stack, f'"{a} {b}"')) == [(seqs[0], "assistant")]
    assert found(search_stack, f'"{b} {a}"')["results"] == []
    assert sorted(hits(found(search_stack, f"{a} {b}"))) == [(seqs[0], "assistant"), (seqs[1], "assistant")]
    res = found(search_stack, f'"{a} {b}"')["results"][0]
    assert " ".join(marked(res)) == f"{a} {b}", marked(res)


def test_a_prefix_matches_the_words_it_starts(search_stack, made):
    base = word()
    sid = made()
    seqs = say(search_stack, sid, [
        assistant(f"the {base}ation is done"),
        tool_end(f"{base}ing the tables"),
        assistant(f"x{base} does not start with it"),
    ])
    body = found(search_stack, f"{base}*")
    assert sorted(hits(body)) == [(seqs[0], "assistant"), (seqs[1], "tool_output")]
    assert sorted(m for r in body["results"] for m in marked(r)) == [f"{base}ation", f"{base}ing"]
    assert hits(found(search_stack, f"{base}ation")) == [(seqs[0], "assistant")]
    assert found(search_stack, base)["results"] == [], "a word is whole without *"
    assert found(search_stack, f"{base[:2]}*", session=sid)["results"], "two characters are enough"


def test_every_word_must_match(search_stack, made):
    a, b = word(), word()
    sid = made()
    seqs = say(search_stack, sid, [assistant(f"{a} and {b}"), assistant(f"only {a}"), assistant(f"only {b}")])
    assert hits(found(search_stack, f"{a} {b}")) == [(seqs[0], "assistant")]
    assert hits(found(search_stack, f"{b}   {a}")) == [(seqs[0], "assistant")]
    assert sorted(marked(found(search_stack, f"{a} {b}")["results"][0])) == sorted([a, b])


def test_words_match_whatever_their_case_and_diacritics(search_stack, made):
    w = word()
    sid = made()
    seqs = say(search_stack, sid, [assistant(f"Le Café {w.upper()} est fermé")])
    for q in (f"cafe {w}", f"CAFÉ {w.upper()}", f"ferme {w}"):
        assert hits(found(search_stack, q)) == [(seqs[0], "assistant")], q
    res = found(search_stack, f"cafe {w}")["results"][0]
    assert marked(res) == ["Café", w.upper()]


def test_session_restricts_the_search_to_one_session(search_stack, made):
    w = word()
    one, other = made(name="one"), made(name="other")
    s1 = say(search_stack, one, [assistant(f"{w} here")])
    s2 = say(search_stack, other, [tool_end(f"{w} there")])
    everywhere = found(search_stack, w)
    assert sorted((r["sessionId"], r["seq"]) for r in everywhere["results"]) == sorted([(one, s1[0]), (other, s2[0])])
    assert {r["sessionName"] for r in everywhere["results"]} == {"one", "other"}
    only = found(search_stack, w, session=one)
    assert [(r["sessionId"], r["seq"]) for r in only["results"]] == [(one, s1[0])]
    assert search(search_stack, w, session=UNKNOWN_ID).status == 404


# -- ranking, snippets -----------------------------------------------------------------------

def test_the_better_match_ranks_first(search_stack, made):
    a, b = word(), word()
    sid = made()
    # Both orders of writing, so neither oldest- nor newest-first can pass for a ranking.
    strong_a, weak_a = say(search_stack, sid, [assistant(f"{a} {a} {a} fixed"),
                                              assistant(f"{filler(120)} {a} {filler(120)}")])
    weak_b, strong_b = say(search_stack, sid, [assistant(f"{filler(120)} {b} {filler(120)}"),
                                              assistant(f"{b} {b} {b} fixed")])
    assert [r["seq"] for r in found(search_stack, a)["results"]] == [strong_a, weak_a]
    assert [r["seq"] for r in found(search_stack, b)["results"]] == [strong_b, weak_b]


def test_snippet_matches_are_utf16_offsets(search_stack, made):
    w = word()
    sid = made()
    text = f"🦘🦘 kangaroo, naïve café — 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 then {w} and 🎉 {w.capitalize()} again ✓"
    say(search_stack, sid, [assistant(text)])
    res = found(search_stack, w)["results"][0]
    snippet = res["snippet"]["text"]
    assert snippet == text, "short text comes back whole"
    assert len(res["snippet"]["matches"]) == 2
    assert marked(res) == [w, w.capitalize()]
    # Not code points: the emoji before the match count twice.
    start = res["snippet"]["matches"][0][0]
    assert start == len(utf16(text[:text.index(w)])) // 2 and start != text.index(w)


def test_the_snippet_of_a_long_text_is_cut_around_the_match(search_stack, made):
    w = word()
    sid = made()
    say(search_stack, sid, [tool_end(f"{filler(400)} 🦘 {w} {filler(400)}")])
    res = found(search_stack, w)["results"][0]
    text = res["snippet"]["text"]
    assert len(text) <= 300, len(text)
    assert text.startswith("…") and text.endswith("…"), text
    assert marked(res) == [w]


def test_html_in_records_comes_back_as_plain_text(search_stack, made):
    w = word()
    sid = made()
    evil = f'<img src=x onerror="alert(1)"><b>{w}</b> &amp; <script>alert(2)</script>'
    say(search_stack, sid, [assistant(evil)])
    res = found(search_stack, w)["results"][0]
    assert res["snippet"]["text"] == evil
    assert marked(res) == [w]


# -- paging ----------------------------------------------------------------------------------

def test_pages_with_limit_and_next_cover_every_match_once(search_stack, made):
    w = word()
    sid = made()
    seqs = say(search_stack, sid, [assistant(f"{w} item {i}") for i in range(25)])
    first = found(search_stack, w)
    assert len(first["results"]) == 20 and isinstance(first["next"], str), "limit defaults to 20"
    seen, sizes, cursor = [], [], None
    for _ in range(10):
        body = found(search_stack, w, limit=10, before=cursor)
        sizes.append(len(body["results"]))
        seen += [r["seq"] for r in body["results"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert sizes == [10, 10, 5]
    assert sorted(seen) == seqs and len(set(seen)) == 25
    assert [r["seq"] for r in found(search_stack, w, limit=10)["results"]] == seen[:10], "the same order again"
    assert len(found(search_stack, w, limit=100)["results"]) == 25
    assert found(search_stack, w, limit=1)["next"] is not None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_a_bad_limit_is_400(search_stack, limit):
    r = search(search_stack, "anything", limit=limit)
    assert r.status == 400, r


def test_a_bad_cursor_is_400_not_500(search_stack):
    for cursor in ("nonsense", "%%%", "0", "-1", "x" * 2000):
        r = search(search_stack, "anything", before=cursor)
        assert r.status in (200, 400), (cursor, r)


# -- retention and deletes -------------------------------------------------------------------

def test_a_record_removed_by_retention_is_no_longer_found(stack_factory):
    s = stack_factory(env={"AMARRE_RETAIN_RECORDS": "5"}, instances=[command_instance("echo", agent("echo.py"))])
    old, new = word(), word()
    sid = s.create("echo")["id"]
    target = say(s, sid, [assistant(f"{old} said early")])[0]
    assert hits(found(s, old)) == [(target, "assistant")]
    later = say(s, sid, [assistant(f"line {i}") for i in range(8)] + [assistant(f"{new} said late")])
    wait_for(lambda: s.get(f"/sessions/{sid}/events?after=0&limit=100").json[0]["_seq"] > target,
             what="retention to drop the first record")
    assert len(s.get(f"/sessions/{sid}/events?after=0&limit=100").json) == 5
    wait_for(lambda: found(s, old)["results"] == [], what=f"{old} to leave the index with its record")
    assert hits(found(s, new)) == [(later[-1], "assistant")]


def test_a_deleted_session_is_no_longer_found(search_stack, made):
    w = word()
    doomed = search_stack.create("echo")["id"]
    kept = made()
    say(search_stack, doomed, [tool_end(f"{w} in the doomed one")])
    say(search_stack, kept, [tool_end(f"{w} in the kept one")])
    assert {r["sessionId"] for r in found(search_stack, w)["results"]} == {doomed, kept}
    assert search_stack.delete(f"/sessions/{doomed}").status == 204
    wait_for(lambda: {r["sessionId"] for r in found(search_stack, w)["results"]} == {kept},
             what="the deleted session's records to leave the index")
    assert search(search_stack, w, session=doomed).status == 404


# -- hostile queries -------------------------------------------------------------------------

BAD_SYNTAX = {
    "empty": "",
    "unbalanced quote": '"unbalanced phrase',
    "quote after a word": 'word "',
    "lone star": "*",
    "star inside a word": "a*b",
    "star first": "*abc",
    "one character before the star": "a*",
    "over 1000 characters": "x" * 1001,
    "very long": "long " * 1000,
    "33 terms": " ".join(f"term{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(33)),
}
# Plain words for the contract (so 200, often with nothing found), or refused: never a 500.
ODD = {
    "OR": "OR", "a OR b": "alpha OR beta", "NOT": "NOT alpha", "AND alone": "AND",
    "NEAR": "NEAR(alpha beta)", "NEAR/2": "alpha NEAR/2 beta", "column filter": "text:foo",
    "column filter list": "{text kind}: foo", "caret": "^alpha", "minus": "-alpha", "plus": "+alpha",
    "parentheses": "(alpha beta)", "empty parentheses": "()", "NUL": "\x00", "NUL inside": "alpha\x00beta",
    "only punctuation": "!!! ??? ... ;;;", "only spaces": "   ", "SQL": "'; DROP TABLE record; --",
    "SQL 2": "\" OR 1=1 --", "backslash": "\\", "percent": "100%", "emoji only": "🦘",
    "quotes balanced oddly": 'a"b"c', "empty phrase": '""', "star phrase": '"alpha*"',
    "control characters": "alpha\x01\x1fbeta", "newline": "alpha\nbeta", "dollar": "$alpha",
    "bm25": "bm25(record)", "rank": "rank:alpha",
}


@pytest.mark.parametrize("q", list(BAD_SYNTAX.values()), ids=list(BAD_SYNTAX))
def test_bad_syntax_is_400_bad_query(search_stack, q):
    r = search(search_stack, q)
    assert r.status == 400, r
    assert r.json["error"] == "bad_query" and isinstance(r.json.get("detail"), str), r.json


def test_a_missing_query_is_400(search_stack):
    r = search(search_stack, None)
    assert r.status == 400, r


@pytest.mark.parametrize("q", list(ODD.values()), ids=list(ODD))
def test_odd_queries_are_plain_words_or_refused_never_a_500(search_stack, q):
    r = search(search_stack, q)
    assert r.status in (200, 400), r
    assert r.headers.get("content-type", "").split(";")[0] == "application/json", r.headers
    if r.status == 200:
        assert set(r.json) == {"results", "next"}
        for res in r.json["results"]:
            check_result(res)
    else:
        assert r.json["error"] == "bad_query", r.json


def test_invalid_utf8_and_raw_bytes_in_the_query_never_give_a_500(search_stack):
    for raw in ("%FF%FE", "%C3", "%ED%A0%80", "abc%00def", "%22%2A%22", "%2A%2A%2A"):
        r = search_stack.get(f"/search?q={raw}")
        assert r.status in (200, 400), (raw, r)


def test_limits_of_the_syntax_are_inclusive(search_stack, made):
    w = word()
    sid = made()
    words = [w] + [word() for _ in range(31)]
    say(search_stack, sid, [assistant(" ".join(words))])
    assert len(found(search_stack, " ".join(words))["results"]) == 1, "32 terms are fine"
    assert found(search_stack, "y" * 1000)["results"] == [], "1000 characters are fine"


def test_the_index_survives_hostile_queries(search_stack, made):
    w = word()
    sid = made()
    seq = say(search_stack, sid, [assistant(f"{w} before the storm")])[0]
    for q in ["'; DROP TABLE record; --", "x'); DELETE FROM record; --", '"', "*", "NEAR(", "\x00"]:
        assert search(search_stack, q).status in (200, 400)
    assert hits(found(search_stack, w)) == [(seq, "assistant")]
    assert search_stack.get(f"/sessions/{sid}/events").status == 200


# -- scripts/amarre search -------------------------------------------------------------------

def test_cli_search(search_stack, made):
    w = word()
    sid = made(name="cli search")
    seq = say(search_stack, sid, [tool_end(f"the {w} was found by the cli")])[0]
    other = made()
    say(search_stack, other, [assistant(f"{w} elsewhere")])
    raw = json.loads(search_stack.cli("search", w, "--json").stdout)
    assert {r["sessionId"] for r in raw["results"]} == {sid, other}
    only = json.loads(search_stack.cli("search", w, "--session", sid, "--limit", "5", "--json").stdout)
    assert [(r["sessionId"], r["seq"], r["kind"]) for r in only["results"]] == [(sid, seq, "tool_output")]
    readable = search_stack.cli("search", w, "--session", sid).stdout
    assert w in readable and "cli search" in readable, readable
    bad = search_stack.cli("search", '"unbalanced', check=False)
    assert bad.returncode == 1 and "400" in bad.stderr, bad
