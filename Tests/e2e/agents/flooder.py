"""{"type":"e2e.flood","count":N,"size":S} -> N records {"type":"e2e.flood","seq":i,"pad":"x"*S}
as fast as the pipe takes them, then {"type":"e2e.flood_done","count":N,"elapsed":seconds}."""
import json
import time

from agentlib import emit, serve


def flood(cmd):
    count, pad = int(cmd["count"]), "x" * int(cmd.get("size", 1000))
    start = time.monotonic()
    with open(1, "wb", buffering=1 << 16, closefd=False) as out:
        for i in range(count):
            out.write(json.dumps({"type": "e2e.flood", "seq": i, "pad": pad}).encode() + b"\n")
    emit({"type": "e2e.flood_done", "count": count, "elapsed": time.monotonic() - start})


serve({"e2e.flood": flood})
