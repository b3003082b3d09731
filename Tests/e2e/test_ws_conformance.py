"""WebSocket conformance, Autobahn sections 1-7 in spirit, with a bare-socket client
(wsraw.py) against a `cat` session through nginx. Payloads are JSON objects because the
server forwards only valid JSON to the agent; `cat` echoes them back as records, which the
server may decorate with reserved `_` fields (compared without them)."""
import json
import struct

import pytest

from conftest import strip_reserved
from wsraw import BINARY, CLOSE, CONT, PING, PONG, TEXT, RawWebSocket, encode_frame

PROTOCOL_ERROR, INVALID_PAYLOAD = 1002, 1007


@pytest.fixture
def ws(stack, sessions):
    s = sessions("cat")
    sock = stack.raw_ws(f"/sessions/{s['id']}")
    assert sock.handshake.status == 101, sock.handshake
    yield sock
    sock.close_socket()


def json_of_size(n: int) -> bytes:
    """A JSON object of exactly n bytes: {} or {"p":"aaa..."} (n == 2 or n >= 8)."""
    return b"{}" if n == 2 else b'{"p":"' + b"a" * (n - 8) + b'"}'


def assert_echo(ws: RawWebSocket, payload: bytes, timeout: float = 10) -> None:
    msg = ws.recv_message(timeout=timeout)
    assert msg.opcode == TEXT, msg
    assert strip_reserved(json.loads(msg.payload)) == json.loads(payload)


def assert_closed_with(ws: RawWebSocket, code: int) -> None:
    got, _ = ws.expect_close()
    assert got == code, f"expected close {code}, got {got} (-1: TCP closed without a close frame)"
    try:
        ws.send_close(code)  # complete the closing handshake
    except OSError:
        pass
    assert ws.expect_eof(), "the server closes TCP after the closing handshake"


def assert_still_open(ws: RawWebSocket) -> None:
    probe = b'{"type":"e2e.probe"}'
    ws.send_text(probe)
    assert_echo(ws, probe)


# -- 1. framing: text messages of every length encoding -------------------------------------

@pytest.mark.parametrize("size", [2, 125, 126, 127, 65535, 65536, 1 << 20])
@pytest.mark.parametrize("chunk", [None, 997], ids=["one-write", "chopped"])
def test_text_frame_is_echoed_whatever_its_length(ws, size, chunk):
    payload = json_of_size(size)
    ws.send_text(payload, chunk=chunk)
    assert_echo(ws, payload)


def test_empty_text_frame_is_not_forwarded_and_the_connection_stays_open(ws):
    ws.send_text(b"")
    probe = b'{"type":"e2e.probe"}'
    ws.send_text(probe)
    assert_echo(ws, probe)


def test_many_frames_in_one_write_are_all_echoed_in_order(ws):
    payloads = [json.dumps({"n": i}).encode() for i in range(100)]
    ws.send_raw(b"".join(encode_frame(TEXT, p) for p in payloads))
    for p in payloads:
        assert_echo(ws, p)


# -- 2. pings and pongs -----------------------------------------------------------------------

@pytest.mark.parametrize("payload", [b"", b"hello", b"\x00\xff" * 62 + b"x"])
def test_ping_is_answered_with_a_pong_carrying_the_same_payload(ws, payload):
    ws.send(PING, payload)
    f = ws.recv_message(pong=False)
    assert (f.opcode, f.payload) == (PONG, payload)


def test_ping_with_a_payload_over_125_bytes_is_a_protocol_error(ws):
    ws.send(PING, b"x" * 126)
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_unsolicited_pong_is_ignored(ws):
    ws.send(PONG, b"unasked")
    ws.send(PONG, b"")
    assert_still_open(ws)


def test_many_pings_are_each_answered_in_order(ws):
    for i in range(10):
        ws.send(PING, b"p%d" % i)
    for i in range(10):
        f = ws.recv_message(pong=False)
        assert (f.opcode, f.payload) == (PONG, b"p%d" % i)


# -- 3. reserved bits ---------------------------------------------------------------------------

@pytest.mark.parametrize("rsv", [1, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("opcode", [TEXT, PING], ids=["text", "ping"])
def test_reserved_bits_without_an_extension_close_with_1002(ws, rsv, opcode):
    ws.send(opcode, b'"x"', rsv=rsv)
    assert_closed_with(ws, PROTOCOL_ERROR)


# -- 4. opcodes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcode_closes_with_1002(ws, opcode):
    ws.send(opcode, b"")
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_reserved_opcode_after_a_valid_message_closes_with_1002(ws):
    ws.send_text(b'{"ok":1}')
    assert_echo(ws, b'{"ok":1}')
    ws.send(5, b"payload")
    assert_closed_with(ws, PROTOCOL_ERROR)


# -- 5. fragmentation ---------------------------------------------------------------------------

def test_fragmented_text_message_is_reassembled(ws):
    ws.send(TEXT, b'{"frag', fin=False)
    ws.send(CONT, b'mented":', fin=False)
    ws.send(CONT, b'[1,2,3]}', fin=True)
    assert_echo(ws, b'{"fragmented":[1,2,3]}')


def test_ping_between_fragments_is_answered_and_the_message_reassembled(ws):
    ws.send(TEXT, b'{"a":', fin=False)
    ws.send(PING, b"mid")
    ws.send(CONT, b'"b"', fin=False)
    ws.send(CONT, b"}", fin=True)
    f = ws.recv_message(pong=False)
    assert (f.opcode, f.payload) == (PONG, b"mid")
    assert_echo(ws, b'{"a":"b"}')


def test_fragments_of_one_byte_each_are_reassembled(ws):
    payload = b'{"one":"byte at a time"}'
    for i, b in enumerate(payload):
        ws.send(TEXT if i == 0 else CONT, bytes([b]), fin=i == len(payload) - 1)
    assert_echo(ws, payload)


def test_continuation_without_a_start_closes_with_1002(ws):
    ws.send(CONT, b'"orphan"', fin=True)
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_new_text_frame_inside_a_fragmented_message_closes_with_1002(ws):
    ws.send(TEXT, b'{"a":', fin=False)
    ws.send(TEXT, b'"b"}', fin=True)
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_fragmented_ping_closes_with_1002(ws):
    ws.send(PING, b"half", fin=False)
    assert_closed_with(ws, PROTOCOL_ERROR)


# -- 6. UTF-8 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [b'"\xff"', b'"\xc0\xaf"', b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"', b'"\xe2\x82"'],
                         ids=["ff", "overlong", "surrogate", "above-max", "truncated"])
def test_invalid_utf8_in_a_text_frame_closes_with_1007(ws, bad):
    ws.send_text(bad)
    assert_closed_with(ws, INVALID_PAYLOAD)


def test_invalid_utf8_across_fragments_closes_with_1007(ws):
    ws.send(TEXT, b'"ok \xe2\x82', fin=False)
    ws.send(CONT, b'\x28"', fin=True)
    assert_closed_with(ws, INVALID_PAYLOAD)


def test_valid_utf8_split_across_fragments_is_echoed_intact(ws):
    payload = '{"t":"κόσμε 😀 𝄞"}'.encode()
    ws.send(TEXT, payload[:7], fin=False)  # splits the two-byte κ
    ws.send(CONT, payload[7:19], fin=False)  # and the four-byte 😀
    ws.send(CONT, payload[19:], fin=True)
    assert_echo(ws, payload)


# -- 7. close handshake ---------------------------------------------------------------------------

@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999])
def test_valid_close_code_is_answered_with_a_close(ws, code):
    ws.send_close(code, b"bye")
    got, _ = ws.expect_close()
    assert got in (code, 1000), got
    assert ws.expect_eof()


def test_close_without_payload_is_answered_with_a_close(ws):
    ws.send_close(None)
    got, _ = ws.expect_close()
    assert got in (None, 1000), got
    assert ws.expect_eof()


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000, 65535])
def test_invalid_close_code_closes_with_1002(ws, code):
    ws.send_close(code)
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_close_payload_of_one_byte_closes_with_1002(ws):
    ws.send(CLOSE, b"\x03")
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_close_reason_with_invalid_utf8_closes_with_1007(ws):
    ws.send(CLOSE, struct.pack("!H", 1000) + b"\xff\xfe")
    assert_closed_with(ws, INVALID_PAYLOAD)


def test_close_with_a_125_byte_payload_is_answered(ws):
    ws.send_close(1000, b"r" * 123)
    got, _ = ws.expect_close()
    assert got == 1000


def test_data_after_close_is_ignored(ws):
    ws.send_close(1000)
    ws.send_text(b'{"late":1}')
    got, seen = ws.expect_close()
    assert got == 1000
    assert not [f for f in seen if b"late" in f.payload]


# -- masking ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("opcode,payload", [(TEXT, b'{"unmasked":1}'), (PING, b"x")], ids=["text", "ping"])
def test_unmasked_client_frame_closes_with_1002(ws, opcode, payload):
    ws.send(opcode, payload, mask=False)
    assert_closed_with(ws, PROTOCOL_ERROR)


def test_binary_message_is_not_forwarded_and_the_connection_stays_open(ws):
    ws.send(BINARY, b'"binary"')
    probe = b'{"type":"e2e.probe"}'
    ws.send_text(probe)
    assert_echo(ws, probe)
