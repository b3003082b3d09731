"""Shared parts of the fake agents (fake-claude, fake-pi): JSONL I/O, scenarios, previews.

Python 3 standard library only. The fakes import it from their own directory.

Scenario files (both fakes; the env var naming the file is FAKE_CLAUDE_SCENARIO or
FAKE_PI_SCENARIO):

    {
      "sessionId": "fixed-id",          optional; default a random uuid
      "model": "fake-model",            optional
      "delayMs": 0,                     pause before each streamed chunk (default 0)
      "costPerTurn": 0.01,              fake-claude: added to total_cost_usd per result
      "replies": [                      the first reply whose "match" occurs in the prompt
        {"match": "deploy",             text (or that has no "match") answers it
         "steps": [STEP, ...]}
      ]
    }

    STEP = one assistant message, its blocks in this order:
      {"thinking": "...",               optional thinking block
       "text": "...",                   optional text block
       "tool": {"name": "Bash", "input": {...},
                "output": "...",        what the tool returns when allowed
                                        (default: "ran <name>")
                "isError": false},      optional tool call
       "chunks": 3,                     deltas per streamed block (default 3)
       "hold": true}                    optional: after this step, wait for an abort

Without a scenario, or when no reply matches, the answer is one step:
{"text": "You said: <prompt>"}.
"""

import json
import os
import queue
import sys
import threading
import uuid

PREVIEW_LIMIT = 400
_write_lock = threading.Lock()


def emit(record):
    """Writes one JSON record as one line on stdout."""
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    with _write_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def new_id():
    return str(uuid.uuid4())


class Input:
    """Reads stdin on a thread: one item per line (split on \\n only, one trailing \\r
    dropped), parsed JSON or ("bad", text); None once stdin is closed."""

    def __init__(self, log):
        self.items = queue.Queue()
        self.log = log
        self.closed = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        stream = sys.stdin.buffer
        while True:
            raw = stream.readline()
            if not raw:
                self.items.put(None)
                return
            text = raw.rstrip(b"\n")
            if text.endswith(b"\r"):
                text = text[:-1]
            if not text.strip():
                continue
            decoded = text.decode("utf-8", errors="replace")
            self.log.write({"stdin": decoded})
            try:
                self.items.put(json.loads(decoded))
            except ValueError:
                self.items.put(("bad", decoded))

    def get(self, timeout=None):
        """The next item; raises queue.Empty after `timeout` seconds (None: wait)."""
        item = self.items.get(timeout=timeout)
        if item is None:
            self.closed = True
        return item


class Log:
    """Appends JSON lines to the file named by an env var (argv, stdin lines, decisions)."""

    def __init__(self, variable):
        self.path = os.environ.get(variable)

    def write(self, entry):
        if not self.path:
            return
        with _write_lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def load_scenario(variable):
    path = os.environ.get(variable)
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def steps_for(scenario, prompt):
    for reply in scenario.get("replies", []):
        match = reply.get("match")
        if match is None or match in prompt:
            return reply.get("steps", [])
    return [{"text": "You said: " + prompt}]


def chunks(text, count):
    """`text` cut into at most `count` non-empty pieces."""
    count = max(1, min(count, len(text)))
    size = -(-len(text) // count) if text else 1
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def start_watchdog(variable, default_seconds=120):
    """Exits with status 3 after the given seconds, so a stuck test cannot hang forever."""
    seconds = float(os.environ.get(variable, default_seconds))
    timer = threading.Timer(seconds, lambda: os._exit(3))
    timer.daemon = True
    timer.start()


def preview(tool_input):
    """The readable part of a tool's input, at most 400 characters, as amarre shows it."""
    text = _readable(tool_input)
    if text is None:
        text = json.dumps(tool_input, ensure_ascii=False, separators=(",", ":"))
    if len(text) > PREVIEW_LIMIT:
        text = text[: PREVIEW_LIMIT - 1] + "…"
    return text


def _readable(fields):
    if not isinstance(fields, dict):
        return None

    def text(key):
        value = fields.get(key)
        return value if isinstance(value, str) and value else None

    if text("command"):
        return text("command") + ("\n# " + text("description") if text("description") else "")
    if text("plan"):
        return text("plan")
    path = text("file_path") or text("notebook_path") or text("path")
    if path:
        if text("pattern"):
            return text("pattern") + "\nin " + path
        lines = [path]
        for edit in [fields] + list(fields.get("edits") or []):
            if not isinstance(edit, dict):
                continue
            removed = edit.get("old_string", edit.get("oldText"))
            added = edit.get("new_string", edit.get("newText"))
            if isinstance(removed, str):
                lines.append("- " + removed)
            if isinstance(added, str):
                lines.append("+ " + added)
        content = fields.get("content", fields.get("new_source"))
        if isinstance(content, str):
            lines.append(content)
        return "\n".join(lines)
    if text("url"):
        return text("url") + ("\n" + text("prompt") if text("prompt") else "")
    return text("query") or text("pattern") or text("description") or text("prompt")
