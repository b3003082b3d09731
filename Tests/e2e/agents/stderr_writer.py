"""{"type":"e2e.stderr","text":T} -> T as one line on stderr, then {"type":"e2e.stderr"} on stdout."""
import sys

from agentlib import emit, serve


def say(cmd):
    sys.stderr.write(cmd["text"] + "\n")
    sys.stderr.flush()
    emit({"type": "e2e.stderr"})


serve({"e2e.stderr": say})
