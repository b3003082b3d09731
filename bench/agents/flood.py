#!/usr/bin/env python3
"""Benchmark agent: floods stdout with fixed-size JSON records on request.

Reads JSON lines on stdin. A line holding {"flood": N} (optionally "size": S,
default 200) makes it write N records of exactly S bytes each (newline not
counted), as fast as the pipe takes them:

    {"type":"flood","n":"00000000","pad":"xxxx...x"}

`n` counts from 0, zero-padded in a string, so every record has the same size.
{"piflood": N} (optionally "size", "from") writes N pi-shaped `message_end` records of
exactly S bytes instead, whose assistant text is made of made-up words (what the search
index takes; bench.py's search queries are drawn from the same words). Any
other line is echoed back unchanged (so it also answers like `cat`). Exits on
stdin EOF. Records are written in batches of 512 records: the writes block
when the reader (amarre-host or websocketd) falls behind, which is the
backpressure being measured.
"""
import json
import random
import sys

BATCH = 512


CONSONANTS, VOWELS = "bdfgklmnprstvz", "aeiou"
# A record's text is one half from each pool; the pool sizes are coprime, so consecutive
# records run through ~1M different texts before one repeats.
HALVES = (1024, 1021)
PI_HEAD = '{"type":"message_end","n":"'
PI_MID = '","message":{"role":"assistant","content":[{"type":"text","text":"'
PI_TAIL = '"}]}}'


def vocabulary(count=2048, seed=14):
    """`count` made-up words of 2 to 4 syllables (b-a, k-o, ...): a word is in ~0.6 % of texts."""
    rng = random.Random(seed)
    seen, out = set(), []
    while len(out) < count:
        w = "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.choice((2, 3, 3, 4))))
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


def halves(words, count, length, seed):
    """`count` texts of random words, each padded with spaces to exactly `length` characters."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts, used = [], 0
        while True:
            w = rng.choice(words)
            if used + len(w) + 1 > length:
                break
            parts.append(w)
            used += len(w) + 1
        out.append((" ".join(parts) + " ").ljust(length))
    return out


def pi_texts(size):
    """The two pools of half texts that make records of exactly `size` bytes."""
    room = size - (len(PI_HEAD) + 8 + len(PI_MID) + len(PI_TAIL))
    words = vocabulary()
    return halves(words, HALVES[0], room // 2, 1), halves(words, HALVES[1], room - room // 2, 2)


POOLS = {}


def pools(size):
    if size not in POOLS:
        a, b = pi_texts(size)
        POOLS[size] = ([x.encode() for x in a], [x.encode() for x in b])
    return POOLS[size]


def indexed(out, count, size, first):
    """`count` pi message_end records of exactly `size` bytes, text number `first` + i."""
    a, b = pools(size)
    la, lb = len(a), len(b)
    template = (PI_HEAD + "%08d" + PI_MID).encode() + b"%s%s" + (PI_TAIL + "\n").encode()
    n = 0
    while n < count:
        end = min(count, n + BATCH)
        out.write(b"".join([template % (i, a[(first + i) % la], b[(first + i) % lb]) for i in range(n, end)]))
        n = end
    out.flush()


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
        elif isinstance(msg, dict) and isinstance(msg.get("piflood"), int):
            indexed(out, max(0, msg["piflood"]), int(msg.get("size", 200)), int(msg.get("from", 0)))
        else:
            out.write(line + b"\n")
            out.flush()


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
