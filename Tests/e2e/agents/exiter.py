"""Writes N lines then exits with a code or kills itself with a signal, on command
({"type":"e2e.exit","lines":N,"code":C} / "signal":"SIGKILL"), or at start when
E2E_EXIT_AT_START=<code> is set (a session that crashes as soon as it is spawned)."""
import os

from agentlib import exit_now, serve

if "E2E_EXIT_AT_START" in os.environ:
    exit_now({"lines": 0, "code": int(os.environ["E2E_EXIT_AT_START"])})
serve()
