"""Writes arbitrary bytes in pieces: {"type":"e2e.write","chunks":[base64...],"delay_ms":20}
writes each chunk with its own write(2), pausing between them, so the host sees them in
separate reads (a line in several pieces, CRLF, empty lines, several lines in one write).
{"type":"e2e.big","size":N,"pieces":P} writes one record of exactly N bytes in P pieces."""
import base64
import time

from agentlib import serve, write_all


def write(cmd):
    delay = cmd.get("delay_ms", 20) / 1000
    for i, chunk in enumerate(cmd["chunks"]):
        if i:
            time.sleep(delay)
        write_all(1, base64.b64decode(chunk))


def big(cmd):
    """{"type":"e2e.big","size":N,"n":k,"pieces":P} -> one record of exactly N bytes (newline
    not counted), {"type":"e2e.big","n":k,"pad":"xxx..."}, written in P pieces."""
    head = b'{"type":"e2e.big","n":%d,"pad":"' % cmd.get("n", 0)
    record = head + b"x" * (int(cmd["size"]) - len(head) - 2) + b'"}\n'
    pieces = int(cmd.get("pieces", 1))
    step = -(-len(record) // pieces)
    write({"chunks": [base64.b64encode(record[i:i + step]).decode() for i in range(0, len(record), step)],
           "delay_ms": cmd.get("delay_ms", 5)})


serve({"e2e.write": write, "e2e.big": big})
