#!/usr/bin/env python3
"""Benchmark agent: floods stdout with fixed-size JSON records on request.

Reads JSON lines on stdin. A line holding {"flood": N} (optionally "size": S,
default 200) makes it write N records of exactly S bytes each (newline not
counted), as fast as the pipe takes them:

    {"type":"flood","n":"00000000","pad":"xxxx...x"}

`n` counts from 0, zero-padded in a string, so every record has the same size. Any
other line is echoed back unchanged (so it also answers like `cat`). Exits on
stdin EOF. Records are written in batches of 512 records: the writes block
when the reader (amarre-host or websocketd) falls behind, which is the
backpressure being measured.
"""
import json
import sys

BATCH = 512


def flood(out, count, size):
    head = b'{"type":"flood","n":"'
    fixed = len(head) + 8 + len(b'","pad":"') + len(b'"}')
    pad = b"x" * max(0, size - fixed)
    template = head + b'%08d","pad":"' + pad + b'"}\n'
    n = 0
    while n < count:
        end = min(count, n + BATCH)
        out.write(b"".join([template % i for i in range(n, end)]))
        n = end
    out.flush()


def main():
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        line = line.rstrip(b"\r\n")
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            msg = None
        if isinstance(msg, dict) and isinstance(msg.get("flood"), int):
            flood(out, max(0, msg["flood"]), int(msg.get("size", 200)))
        else:
            out.write(line + b"\n")
            out.flush()


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
