"""An agent that will not stop politely: SIGTERM is only logged (to $E2E_TERM_LOG), stdin
EOF is ignored, and it has a grandchild (`sleep`, SIGTERM ignored too) in its process group.
Only SIGKILL to the whole group ends both. {"type":"e2e.pid"} also reports "grandchild"."""
import os
import signal
import subprocess
import time

from agentlib import serve

signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the grandchild across exec
grandchild = subprocess.Popen(["sleep", "1000"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def on_term(signum, frame):
    path = os.environ.get("E2E_TERM_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, b"SIGTERM\n")
        os.close(fd)


signal.signal(signal.SIGTERM, on_term)


def hang():
    while True:
        time.sleep(3600)


serve(extra={"grandchild": grandchild.pid}, on_eof=hang)
