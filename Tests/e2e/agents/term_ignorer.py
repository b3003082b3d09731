"""An agent that will not stop politely: SIGTERM is only logged (to $E2E_TERM_LOG), stdin
EOF is ignored, and it has a grandchild (`sleep`, SIGTERM ignored too) in its process group.
Only SIGKILL to the whole group ends both. {"type":"e2e.pid"} also reports "grandchild"."""
import os
import signal
import subprocess
import threading
import time

from agentlib import serve

signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the grandchild across exec
grandchild = subprocess.Popen(["sleep", "1000"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def log_terms():
    # SIGTERM is blocked in every thread and taken here with sigwait: a Python-level handler
    # can miss a SIGTERM that arrives together with stdin's EOF (the host closes stdin and
    # signals at once), which made the delete test see no log one run in a few.
    path = os.environ.get("E2E_TERM_LOG")
    while True:
        signal.sigwait({signal.SIGTERM})
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.write(fd, b"SIGTERM\n")
            os.close(fd)


# Blocked before the thread starts, so it is blocked in both; a blocked signal stays pending
# for sigwait even though its disposition is "ignore".
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
threading.Thread(target=log_terms, daemon=True).start()


def hang():
    while True:
        time.sleep(3600)


serve(extra={"grandchild": grandchild.pid}, on_eof=hang)
