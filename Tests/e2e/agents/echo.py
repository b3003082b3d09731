"""Echo agent: writes every stdin line back to stdout, verbatim, one write per line."""
import sys

from agentlib import write_all

for line in sys.stdin.buffer:
    write_all(1, line if line.endswith(b"\n") else line + b"\n")
