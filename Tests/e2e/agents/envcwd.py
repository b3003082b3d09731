"""{"type":"e2e.env"} -> {"type":"e2e.env","env":{...os.environ},"cwd":os.getcwd()}."""
import os

from agentlib import emit, serve

serve({"e2e.env": lambda cmd: emit({"type": "e2e.env", "env": dict(os.environ), "cwd": os.getcwd()})})
