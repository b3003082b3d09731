"""{"type":"e2e.utf8","text":T} -> writes {"type":"e2e.utf8","text":T} one byte per write(2),
with a pause after each, so every multi-byte UTF-8 character is split across reads."""
import json
import time

from agentlib import serve, write_all


def utf8(cmd):
    text = cmd.get("text", "é € 😀 𝄞")
    data = json.dumps({"type": "e2e.utf8", "text": text}, ensure_ascii=False).encode() + b"\n"
    for b in data:
        write_all(1, bytes([b]))
        time.sleep(0.002)


serve({"e2e.utf8": utf8})
