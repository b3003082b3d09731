"""The loop shared by the test agents: JSON commands on stdin, JSON records on stdout.

Agents never speak first: they act when a test sends a command, so a test can attach its
WebSocket clients before anything is written. Every agent built on `serve` answers:
  {"type":"e2e.pid"}                      -> {"type":"e2e.pid","pid","pgid","ppid",...}
  {"type":"e2e.exit","lines":N,"code":C}  -> N records {"type":"e2e.line","n":i}, then exit C
  {"type":"e2e.exit","signal":"SIGKILL"}  -> ... then kill itself with that signal
and echoes anything else as {"type":"e2e.received","record":...}.
"""
import json
import os
import signal
import sys
import time


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def emit(obj):
    write_all(1, (json.dumps(obj, ensure_ascii=False) + "\n").encode())


def exit_now(cmd):
    # One write per line, no buffering: the lines are in the pipe before the exit.
    for i in range(int(cmd.get("lines", 0))):
        write_all(1, b'{"type":"e2e.line","n":%d}\n' % i)
    name = cmd.get("signal")
    if name:
        sig = getattr(signal, name)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        time.sleep(60)  # not reached for SIGKILL/SIGTERM
    os._exit(int(cmd.get("code", 0)))


def serve(handlers=None, extra=None, on_eof=None):
    handlers = handlers or {}
    for raw in sys.stdin.buffer:
        line = raw.rstrip(b"\n").rstrip(b"\r")
        if not line:
            continue
        try:
            cmd = json.loads(line)
        except ValueError:
            emit({"type": "e2e.bad_input", "line": line.decode("utf-8", "replace")})
            continue
        kind = cmd.get("type") if isinstance(cmd, dict) else None
        if kind == "e2e.pid":
            emit({"type": "e2e.pid", "pid": os.getpid(), "pgid": os.getpgid(0), "ppid": os.getppid(),
                  "nonce": cmd.get("nonce"), **(extra or {})})
        elif kind == "e2e.exit":
            exit_now(cmd)
        elif kind in handlers:
            handlers[kind](cmd)
        else:
            emit({"type": "e2e.received", "record": cmd})
    if on_eof:
        on_eof()
