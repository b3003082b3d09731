#!/usr/bin/env python3
"""amarre benchmarks: the relay, the control plane and the memory, against peers.

Run through scripts/bench (it installs packages and builds the release binaries).
Everything here talks to loopback only, and every loop is bounded in count and time.
See bench/README.md for the method.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import importlib.util
import json
import os
import platform
import random
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "lib"))
import amarrestack  # noqa: E402  (the one stack launcher: scripts/run and the e2e suite use it too)
from wsclient import Conn, HandshakeError  # noqa: E402

HOST = "127.0.0.1"
FLOOD_MARK = b'"type":"flood","n":"'
# Issue 14: flood records of an indexed kind (a pi `message_end`), for the search measures.
PI_FLOOD_MARK = b'"type":"message_end","n":"'
ECHO_MARK = b'"type":"get_state","id":'
# A flood reader that got an `amarre.replay_gap` and then nothing for this long stops waiting.
GAP_SILENCE = 10.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = 4096

def say(*args):
    print("bench:", *args, file=sys.stderr, flush=True)


def now() -> float:
    return time.perf_counter()


def pct(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- /proc ------------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def machine_busy_seconds() -> float:
    """CPU time spent by the whole machine (all cores, not idle or iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK


class CpuMeter:
    """CPU time (in cores) of named process groups, of this client, and of everything else
    on the machine, across one measurement."""

    def __init__(self, procs: dict[str, list[int]]):
        self.procs = procs
        self.t0 = now()
        self.c0 = {k: sum(cpu_seconds(p) for p in v) for k, v in procs.items()}
        self.self0 = time.process_time()
        self.m0 = machine_busy_seconds()

    def stop(self) -> dict:
        wall = max(1e-9, now() - self.t0)
        out = {k: round((sum(cpu_seconds(p) for p in v) - self.c0[k]) / wall, 3) for k, v in self.procs.items()}
        out["client"] = round((time.process_time() - self.self0) / wall, 3)
        machine = (machine_busy_seconds() - self.m0) / wall
        out["others"] = round(max(0.0, machine - sum(out.values())), 3)
        return out


def wait_idle(pids: list[int], limit: float = 10.0, threshold: float = 0.05) -> float:
    """Waits until the processes use under `threshold` of a core over 0.3 s (at most `limit` s)."""
    start = now()
    prev = sum(cpu_seconds(p) for p in pids)
    t = now()
    while now() - start < limit:
        time.sleep(0.3)
        c = sum(cpu_seconds(p) for p in pids)
        if (c - prev) / max(1e-9, now() - t) < threshold:
            break
        prev, t = c, now()
    return now() - start


def wait_quiet(limit: float = 2.0, threshold: float = 0.5) -> float:
    """Waits (at most `limit` s) until the whole machine uses under `threshold` cores over
    0.25 s. Called between measurements, when our own processes are idle: what it sees is
    other people's load on a shared machine. Returns the seconds waited."""
    start = now()
    while now() - start < limit:
        m0, t0 = machine_busy_seconds(), now()
        time.sleep(0.25)
        if (machine_busy_seconds() - m0) / (now() - t0) < threshold:
            break
    return now() - start


# --- processes ----------------------------------------------------------------------


class Procs:
    """Every process this run starts: own session (process group), dies with us (SIGTERM), logged
    to STATE/log/NAME.log, listed in STATE/pids and marked with AMARRE_BENCH_RUN (scripts/bench's
    safety net). The amarre stacks are started by the launcher, which reports each process here."""

    def __init__(self, state: Path, marker: str):
        self.state = state
        self.marker = marker
        self.list: list[tuple[str, subprocess.Popen, int]] = []

    def record(self, name: str, p: subprocess.Popen, stop_signal=signal.SIGTERM):
        self.list.append((name, p, stop_signal))
        with open(self.state / "pids", "a") as f:
            f.write(f"{p.pid} {name}\n")
        return p

    def start(self, name: str, argv: list[str], env: dict | None = None, stop_signal=signal.SIGTERM):
        env = dict(os.environ if env is None else env)
        env["AMARRE_BENCH_RUN"] = self.marker
        return self.record(name, amarrestack.spawn(argv, env=env, output=self.state / "log" / f"{name}.log"),
                           stop_signal)

    def launcher(self, label: str, **kw) -> amarrestack.Launcher:
        """An amarre stack whose component NAME logs to STATE/log/NAME-LABEL.log."""
        kw["env"] = {**kw["env"], "AMARRE_BENCH_RUN": self.marker}

        def on_spawn(stack, key, p):
            self.record(f"{amarrestack.PROGRAMS[key]}-{label}", p, stack.stop_signals[key])
        return amarrestack.Launcher(log_dir=self.state / "log", on_spawn=on_spawn, log_names={
            key: f"{name}-{label}.log" for key, name in amarrestack.PROGRAMS.items()}, **kw)

    def check(self):
        for name, p, _ in self.list:
            if p.poll() is not None:
                raise RuntimeError(f"{name} (pid {p.pid}) exited with {p.returncode}; see {self.state}/log/{name}.log")

    def stop_all(self, grace: float = 8.0):
        # Last started first; then the whole process group of each: nginx workers, websocketd's children.
        amarrestack.stop_processes(
            reversed(self.list), grace, kill_groups=True,
            on_overdue=lambda name, pid, sig: say(f"{name} (pid {pid}) still running after {grace:.0f}s: SIGKILL"))
        self.list.clear()


# --- HTTP ---------------------------------------------------------------------------


class Rest:
    def __init__(self, port: int, timeout: float = 10.0, headers: dict | None = None):
        self.port = port
        self.timeout = timeout
        self.conn = None
        self.headers = dict(headers or {})

    def call(self, method: str, path: str, body=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                headers = {"Origin": f"http://{HOST}:{self.port}", **self.headers}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    headers["Content-Type"] = "application/json"
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, payload
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError

    def json(self, method, path, body=None, expect=(200, 201)):
        status, payload = self.call(method, path, body)
        if status not in expect:
            raise RuntimeError(f"{method} {path} -> {status}: {payload[:300]!r}")
        return json.loads(payload) if payload else None

    def create(self, instance: str) -> str:
        return self.json("POST", "/sessions", {"instanceId": instance}, expect=(201,))["id"]

    def delete(self, sid: str):
        status, payload = self.call("DELETE", f"/sessions/{sid}")
        if status not in (204, 404):
            raise RuntimeError(f"DELETE /sessions/{sid} -> {status}: {payload[:200]!r}")

    def delete_all(self, limit: float = 30.0):
        deadline = now() + limit
        while now() < deadline:
            sessions = self.json("GET", "/sessions")
            if not sessions:
                return
            for s in sessions:
                self.delete(s["id"])
            time.sleep(0.1)
        raise RuntimeError("sessions left after deleting them all")


# --- the stack ----------------------------------------------------------------------


class Stack:
    """Two amarre stacks (store on / store off), each behind its own nginx as shipped, and websocketd;
    with `lag`, a third store-on stack for the lagging-client measure (see `amarre_env`)."""

    def __init__(self, args, procs: Procs, lag: bool = False, lag_retain: int = 0):
        self.args = args
        self.procs = procs
        self.state: Path = args.state_dir
        self.repo: Path = args.repo
        self.bin = Path(args.bin_dir)
        self.labels = ("on", "off", "lag") if lag else ("on", "off")
        self.lag_retain = lag_retain
        self.port = {label: free_port() for label in self.labels}
        self.wsd_echo_port = free_port()
        self.wsd_flood_port = free_port()
        # The peers' server in the store-on nginx (websocketd through nginx, nginx static).
        self.peer_port = free_port()
        self.pids: dict[str, int] = {}
        self.stacks: dict[str, amarrestack.Launcher] = {}
        self.flood_cmd = [sys.executable, "-S", str(self.repo / "bench/agents/flood.py")]
        # Issue 14: the same flood, or one of indexed (pi message_end) records with varied words.
        # The same agent: {"piflood": N} makes it write indexed records.
        self.piflood_cmd = self.flood_cmd

    def amarre_env(self, label: str) -> dict:
        """The store-on stack (`on`) runs as shipped: the store, access control (every client
        with a token), the default client queue (8 MiB, then catch-up from the store) and
        retention. The store-off one (`off`, AMARRE_DURABLE=0) has no access control (the
        "auth on / off" row compares them) and a client queue of --client-buffer-bytes: without
        the store nothing can be caught up, and a client past its queue is dropped with 1013 at
        once (the original's rule), which a single full-speed flood reader through nginx would be
        with 8 MiB. The `lag` stack is `on` with AMARRE_RETAIN_RECORDS raised past the flood:
        with the default 100,000 a reader 10x slower than a 200,000-record flood is rightly told
        `amarre.replay_gap` for what retention dropped, and the measure is "gets everything"."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AMARRE_")}
        env.update({
            "AMARRE_STATE_DIR": str(self.state / label),
            "AMARRE_PORT": str(self.port[label]),
            "AMARRE_HOST": HOST,
            "AMARRE_DURABLE": "0" if label == "off" else "1",
            "AMARRE_AUTH": "none" if label == "off" else "token",
            "AMARRE_MAX_SESSIONS": str(self.args.max_sessions),
            "AMARRE_INSTANCES_JSON": json.dumps([
                {"id": "echo", "agent": "command", "command": ["cat"]},
                {"id": "flood", "agent": "command", "command": self.flood_cmd},
                {"id": "piflood", "agent": "command", "command": self.piflood_cmd},
            ]),
        })
        if label == "off":
            env["AMARRE_CLIENT_BUFFER_BYTES"] = str(self.args.client_buffer_bytes)
        if label == "lag":
            env["AMARRE_RETAIN_RECORDS"] = str(self.lag_retain)
        return env

    def render(self):
        """Each amarre stack gets the nginx.conf scripts/render-nginx writes, unchanged (as
        shipped: worker_connections, worker_rlimit_nofile, keep-alive and all), run by an nginx
        of its own. The peers (websocketd through nginx, nginx's static file) are one more
        server, on a port of its own, in the store-on nginx's conf.d/ (included at http level
        by the shipped nginx.conf): nothing of amarre's configuration is edited."""
        self.nginx_conf = {}
        for label in self.labels:
            self.stacks[label] = self.procs.launcher(
                label, state_dir=self.state / label, bin_dir=self.bin, port=self.port[label], host=HOST,
                www=self.repo / "www", env=self.amarre_env(label))
            try:
                self.nginx_conf[label] = self.stacks[label].render()
            except amarrestack.RenderError as e:
                raise RuntimeError(f"render-nginx for the store-{label} stack: {e}") from None
            if "conf.d/*.conf;" not in self.nginx_conf[label].read_text():
                raise RuntimeError(f"{self.nginx_conf[label]} has no conf.d/*.conf include for the peers")
        ws_proxy = """
        proxy_http_version 1.1;
        proxy_set_header Upgrade           $http_upgrade;
        proxy_set_header Connection        $amarre_connection_upgrade;
        proxy_set_header Host              $http_host;
        proxy_set_header Origin            $http_origin;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-For   $proxy_add_x_forwarded_for;
        proxy_buffering off;
        proxy_read_timeout 3600s;
        proxy_send_timeout 3600s;
"""
        (self.state / "static").mkdir(exist_ok=True)
        (self.state / "static/sessions.json").write_text("[]")
        (self.state / "on/nginx/conf.d/bench-peers.conf").write_text(
            "# bench peers: websocketd behind the same nginx worker, and a static file\n"
            "server {\n"
            f"    listen {HOST}:{self.peer_port};\n"
            "    server_name _;\n"
            f"    location = /wsd/echo {{\n        proxy_pass http://{HOST}:{self.wsd_echo_port};{ws_proxy}    }}\n"
            f"    location = /wsd/flood {{\n        proxy_pass http://{HOST}:{self.wsd_flood_port};{ws_proxy}    }}\n"
            "    location = /bench-static/sessions.json {\n"
            f"        alias {self.state}/static/sessions.json;\n"
            "        default_type application/json;\n    }\n"
            "}\n")
        for label in self.labels:
            self.stacks[label].check_nginx()

    def start(self):
        self.render()
        for label in self.labels:
            for key in ("host", "api"):
                self.pids[f"{key}-{label}"] = self.stacks[label].spawn(key).pid
        wsd = ["websocketd", f"--address={HOST}", "--loglevel=error"]
        self.pids["wsd-echo"] = self.procs.start("websocketd-echo", wsd + [f"--port={self.wsd_echo_port}", "cat"]).pid
        self.pids["wsd-flood"] = self.procs.start(
            "websocketd-flood", wsd + [f"--port={self.wsd_flood_port}"] + self.flood_cmd).pid
        for label in self.labels:
            self.pids[f"nginx-{label}"] = self.stacks[label].spawn("nginx").pid
        deadline = now() + 60
        for label in self.labels:
            while True:
                self.procs.check()
                if self.stacks[label].ready():
                    break
                if now() > deadline:
                    raise RuntimeError(f"GET /healthz on the store-{label} stack did not answer 200 in 60 s")
                time.sleep(0.1)
        for port in (self.wsd_echo_port, self.wsd_flood_port, self.peer_port):
            while True:
                try:
                    socket.create_connection((HOST, port), timeout=1).close()
                    break
                except OSError:
                    if now() > deadline:
                        raise RuntimeError(f"port {port} (websocketd or the peers' nginx server) did not open")
                    time.sleep(0.1)
        self.token = {label: None if label == "off" else self.make_token(label) for label in self.labels}
        self.rest = {label: Rest(self.port[label], headers=self.auth_headers(self.port[label])) for label in self.labels}

    def make_token(self, label: str) -> str:
        """A bearer token from the host's control socket (what `amarre token create` does)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(str(self.stacks[label].control_socket))
            s.sendall(b'{"tokenCreate":{"name":"bench"}}\n')
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("control socket closed before the token")
                data += chunk
        return json.loads(data)["deviceToken"]["token"]

    def auth_headers(self, port: int) -> dict:
        """What a client of the amarre stack on `port` sends to be let in."""
        token = next((self.token.get(label) for label in self.labels if self.port[label] == port), None)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def ws(self, port: int, path: str) -> Conn:
        return Conn(HOST, port, path, headers=self.auth_headers(port))

    def nginx_workers(self, label: str | None = None) -> list[int]:
        """Workers of every stack's nginx (or of one of them)."""
        labels = [label] if label else list(self.labels)
        return [w for lb in labels for w in children(self.pids[f"nginx-{lb}"])]

    def server_pids(self, label: str) -> list[int]:
        return [self.pids[f"host-{label}"], self.pids[f"api-{label}"]]

    def meter(self) -> CpuMeter:
        agents = []
        for k in [f"host-{label}" for label in self.labels] + ["wsd-echo", "wsd-flood"]:
            for c in children(self.pids[k]):
                agents += [c] + children(c)
        groups = {"agents": agents}
        for label in self.labels:
            groups[f"amarre-host-{label}"] = [self.pids[f"host-{label}"]]
            groups[f"amarre-api-{label}"] = [self.pids[f"api-{label}"]]
        groups["nginx"] = self.nginx_workers()
        groups["websocketd"] = [self.pids["wsd-echo"], self.pids["wsd-flood"]]
        return CpuMeter(groups)

    def idle(self):
        wait_idle([self.pids[f"host-{label}"] for label in self.labels] + self.nginx_workers())

    def metrics(self, label: str, names=("amarre_catchups_total", "amarre_clients_dropped_slow_total")) -> dict:
        """Counters from GET /metrics of one stack (None when it could not be read)."""
        try:
            status, body = self.rest[label].call("GET", "/metrics")
        except OSError:
            return {k: None for k in names}
        out = {}
        text = body.decode(errors="replace") if status == 200 else ""
        for k in names:
            out[k] = None
            for line in text.splitlines():
                parts = line.split()
                if len(parts) == 2 and (parts[0] == k or parts[0].startswith(k + "{")):
                    out[k] = (out[k] or 0) + float(parts[1])
        return out


# --- targets ------------------------------------------------------------------------

TARGET_LABEL = {
    "amarre-on": "amarre via nginx, store on",
    "amarre-off": "amarre via nginx, store off",
    "wsd-nginx": "websocketd via nginx",
    "wsd-direct": "websocketd direct",
}


def open_echo(stack: Stack, target: str, sessions: dict) -> Conn:
    if target.startswith("amarre-"):
        label = target.split("-")[1]
        conn = stack.ws(stack.port[label], f"/sessions/{sessions[label]}")
        hello = conn.next_text()
        if b'"amarre.hello"' not in hello:
            raise RuntimeError(f"first frame is not amarre.hello: {hello[:100]!r}")
        return conn
    if target == "wsd-nginx":
        return stack.ws(stack.peer_port, "/wsd/echo")
    return Conn(HOST, stack.wsd_echo_port, "/")


def echo_payload(i: int) -> bytes:
    return b'{"type":"get_state","id":%d}' % i


def roundtrips(conn: Conn, start: int, count: int, lat: list):
    frames = [conn.frame(echo_payload(i)) for i in range(start, start + count)]
    expect = [b'"id":%d}' % i for i in range(start, start + count)]
    sock = conn.sock
    clock = time.perf_counter_ns
    for k in range(count):
        t0 = clock()
        sock.sendall(frames[k])
        payload = conn.next_text()
        lat.append(clock() - t0)
        if not payload.endswith(expect[k]) or ECHO_MARK not in payload:
            raise RuntimeError(f"unexpected echo {payload[:120]!r} for id {start + k}")


def bench_rtt(stack: Stack, sessions: dict, cfg) -> dict:
    targets = list(TARGET_LABEL)
    conns = {t: open_echo(stack, t, sessions) for t in targets}
    lat = {t: [] for t in targets}
    busy = {t: 0.0 for t in targets}
    cpu = {t: 0.0 for t in targets}
    try:
        for t in targets:
            roundtrips(conns[t], 10_000_000, cfg.rtt_warmup, [])
        per_round = cfg.rtt_count // cfg.rtt_rounds
        for r in range(cfg.rtt_rounds):
            for t in targets[r % 4:] + targets[:r % 4]:
                c0, t0 = time.process_time(), now()
                roundtrips(conns[t], r * per_round, per_round, lat[t])
                busy[t] += now() - t0
                cpu[t] += time.process_time() - c0
    finally:
        for c in conns.values():
            c.close()
    out = {}
    for t in targets:
        ms = [x / 1e6 for x in lat[t]]
        out[t] = {
            "label": TARGET_LABEL[t], "n": len(ms), "p50_ms": round(pct(ms, 50), 4),
            "p99_ms": round(pct(ms, 99), 4), "mean_ms": round(statistics.fmean(ms), 4),
            "records_per_s": round(len(ms) / busy[t]), "client_cpu": round(cpu[t] / busy[t], 3),
        }
        say(f"  rtt {t:11s} p50 {out[t]['p50_ms']:.3f} ms  p99 {out[t]['p99_ms']:.3f} ms  "
            f"{out[t]['records_per_s']:>6}/s  client cpu {out[t]['client_cpu']:.0%}")
    return out


def pipelined(conn: Conn, count: int, window: int, deadline: float) -> int:
    frames = [conn.frame(echo_payload(i)) for i in range(count)]
    sock = conn.sock
    sent = min(window, count)
    sock.sendall(b"".join(frames[:sent]))
    got = 0
    while got < count:
        if now() > deadline:
            raise TimeoutError(f"pipelined: {got}/{count} echoes before the deadline")
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionError(f"server closed after {got} echoes (close code {conn.close_code})")
        k = conn.feed(chunk, ECHO_MARK)
        got += k
        if k and sent < count:
            m = min(k, count - sent)
            sock.sendall(b"".join(frames[sent:sent + m]))
            sent += m
    return got


def bench_pipelined(stack: Stack, sessions: dict, cfg) -> dict:
    targets = list(TARGET_LABEL)
    conns = {t: open_echo(stack, t, sessions) for t in targets}
    rates = {t: [] for t in targets}
    cpu = {t: [] for t in targets}
    try:
        for t in targets:
            pipelined(conns[t], 1000, cfg.window, now() + cfg.deadline)  # warm-up
        per_round = cfg.pipe_count // cfg.pipe_rounds
        for r in range(cfg.pipe_rounds):
            for t in targets[r % 4:] + targets[:r % 4]:
                c0, t0 = time.process_time(), now()
                got = pipelined(conns[t], per_round, cfg.window, now() + cfg.deadline)
                wall = now() - t0
                rates[t].append(got / wall)
                cpu[t].append((time.process_time() - c0) / wall)
    finally:
        for c in conns.values():
            c.close()
    out = {}
    for t in targets:
        best = max(range(len(rates[t])), key=lambda i: rates[t][i])
        out[t] = {"label": TARGET_LABEL[t], "n": per_round * cfg.pipe_rounds, "window": cfg.window,
                  "records_per_s": round(rates[t][best]), "rounds": [round(x) for x in rates[t]],
                  "client_cpu": round(cpu[t][best], 3)}
        say(f"  pipelined {t:11s} best {out[t]['records_per_s']:>7}/s of rounds {out[t]['rounds']}  "
            f"client cpu {out[t]['client_cpu']:.0%}")
    return out


def drain_many(conns: list[Conn], target: int, deadline: float, t0: float, marker: bytes = FLOOD_MARK):
    """Reads every connection until each has `target` flood records (frames carrying `marker`),
    or has the last one (number target - 1) after an `amarre.replay_gap` (records missing: it
    will never have `target`), or has had nothing for `GAP_SILENCE` seconds after a gap notice
    (the notice covered the end of the flood), or the deadline passes."""
    last = b"%08d" % (target - 1)
    sel = selectors.DefaultSelector()
    active = 0
    heard = {}
    for c in conns:
        c.sock.setblocking(False)
        heard[c] = now()
        if c.count < target:
            sel.register(c.sock, selectors.EVENT_READ, c)
            active += 1
    try:
        while active and now() < deadline:
            t = now()
            for c in [c for c in conns if c.gaps and t - heard[c] > GAP_SILENCE and c.done_at is None and not c.eof]:
                if c.sock in sel.get_map():
                    sel.unregister(c.sock)
                    active -= 1
            if not active:
                break
            for key, _ in sel.select(timeout=min(0.5, max(0.0, deadline - now()))):
                c = key.data
                try:
                    chunk = c.sock.recv(262144)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    c.count += c.feed(chunk, marker)
                    heard[c] = now()
                else:
                    c.eof = True
                if (c.count >= target or c.eof or c.close_code is not None
                        or (c.gaps and c.last_n == last)):
                    if c.count >= target:
                        c.done_at = now()
                    sel.unregister(c.sock)
                    active -= 1
    finally:
        sel.close()
    return [c.done_at - t0 if c.done_at else None for c in conns]


def cpu_text(cpu: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in cpu.items() if v >= 0.01)


def flood_result(target, k, n, conns, times, elapsed, meter, extra=None) -> dict:
    counts = [c.count for c in conns]
    complete = all(x is not None for x in times)
    per_client = [(c.count / (tm if tm is not None else elapsed)) for c, tm in zip(conns, times)]
    wall = max(x for x in times) if complete else elapsed
    bad_last = [c.last_n for c in conns if c.count >= n and c.last_n != b"%08d" % (n - 1)]
    r = {
        "label": TARGET_LABEL[target], "clients": k, "records": n, "complete": complete,
        "delivered": sum(counts), "min_delivered": min(counts),
        "per_client_median": round(statistics.median(per_client)),
        "per_client_min": round(min(per_client)),
        "aggregate": round(sum(counts) / wall), "seconds": round(wall, 3),
        "close_codes": sorted({c.close_code for c in conns if c.close_code is not None}),
        "replay_gaps": sum(c.gaps for c in conns),
        "out_of_order_last": len(bad_last), "cpu": meter.stop(),
    }
    if r["replay_gaps"]:
        r["gap_notices"] = [g.decode(errors="replace") for c in conns for g in c.gap_notices][:10]
    if extra:
        r.update(extra)
    flag = "" if complete else (f"  INCOMPLETE ({r['min_delivered']}/{n} min, close codes {r['close_codes']}, "
                                f"replay gaps {r['replay_gaps']} {r.get('gap_notices', '')})")
    say(f"  flood {target:10s} x{k:<3} per client {r['per_client_median']:>7}/s  aggregate "
        f"{r['aggregate']:>8}/s  {r['seconds']:.2f}s  cores: {cpu_text(r['cpu'])}{flag}")
    return r


def flood_amarre(stack: Stack, label: str, k: int, n: int, cfg) -> dict:
    rest = stack.rest[label]
    sid = rest.create("flood")
    conns = []
    try:
        for _ in range(k):
            c = stack.ws(stack.port[label], f"/sessions/{sid}")
            conns.append(c)
            hello = c.next_text()
            if b'"amarre.hello"' not in hello:
                raise RuntimeError(f"first frame is not amarre.hello: {hello[:100]!r}")
        c0 = conns[0]
        c0.send_text(b'{"type":"ready"}')  # the agent is up and echoing
        while b'"type":"ready"' not in c0.next_text():
            pass
        for c in conns[1:]:
            while b'"type":"ready"' not in c.next_text():
                pass
        before = stack.metrics(label)
        wait_quiet()
        meter = stack.meter()
        t0 = now()
        c0.send_text(b'{"flood":%d,"size":200}' % n)
        times = drain_many(conns, n, t0 + cfg.flood_deadline, t0)
        elapsed = now() - t0
        r = flood_result(f"amarre-{label}", k, n, conns, times, elapsed, meter)
        # Clients that fell behind and were fed from the store (store on), clients dropped
        # with 1013 (store off: past the queue; store on: only a stall).
        after = stack.metrics(label)
        r["catchups"], r["dropped_slow"] = (
            None if after[m] is None or before[m] is None else int(after[m] - before[m])
            for m in ("amarre_catchups_total", "amarre_clients_dropped_slow_total"))
        if r["catchups"] or r["dropped_slow"]:
            say(f"    {r['catchups']} catch-up(s) from the store, {r['dropped_slow']} client(s) dropped as slow")
        return r
    finally:
        for c in conns:
            c.close()
        rest.delete(sid)
        stack.idle()


def flood_wsd(stack: Stack, direct: bool, k: int, n: int, cfg) -> dict:
    conns = []
    try:
        for _ in range(k):
            if direct:
                conns.append(Conn(HOST, stack.wsd_flood_port, "/"))
            else:
                conns.append(stack.ws(stack.peer_port, "/wsd/flood"))
        for c in conns:  # one agent per connection: wait until each is up
            c.send_text(b'{"type":"ready"}')
        for c in conns:
            while b'"type":"ready"' not in c.next_text():
                pass
        wait_quiet()
        meter = stack.meter()
        t0 = now()
        trigger = b'{"flood":%d,"size":200}' % n
        for c in conns:
            c.send_text(trigger)
        times = drain_many(conns, n, t0 + cfg.flood_deadline, t0)
        elapsed = now() - t0
        return flood_result("wsd-direct" if direct else "wsd-nginx", k, n, conns, times, elapsed, meter,
                            {"agents": k})
    finally:
        for c in conns:
            c.close()
        stack.idle()


def bench_flood(stack: Stack, cfg) -> dict:
    """Each client count runs in rounds; a round measures every target once, in an order
    that rotates between rounds. The best round of each target is reported (other load on
    a shared machine only ever slows a run down); every round is kept in `rounds`."""
    out = {}
    n = cfg.flood_records
    for k in cfg.flood_clients:
        runs = {"amarre-on": lambda: flood_amarre(stack, "on", k, n, cfg),
                "wsd-nginx": lambda: flood_wsd(stack, False, k, n, cfg),
                "amarre-off": lambda: flood_amarre(stack, "off", k, n, cfg)}
        if k == 1:
            runs["wsd-direct"] = lambda: flood_wsd(stack, True, 1, n, cfg)
        names = list(runs)
        got = {name: [] for name in names}
        for r in range(cfg.flood_rounds.get(k, 1)):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                try:
                    got[name].append(runs[name]())
                except Exception as e:  # a failed measure is reported, the run goes on
                    say(f"  flood {name} x{k} FAILED: {e!r}")
                    got[name].append({"label": TARGET_LABEL[name], "clients": k, "error": repr(e)})
        for name in names:
            ok = [x for x in got[name] if "per_client_median" in x]
            if ok:
                best = dict(max(ok, key=lambda x: (x["complete"], x["per_client_median"])))
            else:
                best = dict(got[name][-1])
            best["rounds"] = [x.get("per_client_median") for x in got[name]]
            # Every round's outcome (not its CPU), so a bad round can be looked into.
            best["round_details"] = [{key: v for key, v in x.items() if key not in ("cpu", "label")} for x in got[name]]
            out[f"{name}/{k}"] = best
    return out


# --- a lagging client (issue 11) --------------------------------------------------------


def vm_kib(pid: int, field: str) -> int:
    """A `Vm*` line of /proc/<pid>/status, in KiB (0 if absent)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def lag_run(stack: Stack, with_slow: bool, n: int, slow_rate: float, cfg) -> dict:
    """One flood of `n` records on a fresh session of the `lag` stack, read by a fast client
    at full speed and, `with_slow`, by a second client of the same session whose reads are
    throttled to `slow_rate` records/s (a token bucket; small receive buffer, 16 KiB reads).
    The fast client's rate runs from the trigger to its last record; the slow one must get
    every record in order (its counters are checked one by one), no `amarre.replay_gap`, and
    must never be closed. The host's RSS is sampled every 0.1 s meanwhile."""
    rest = stack.rest["lag"]
    port = stack.port["lag"]
    host_pid = stack.pids["host-lag"]
    sid = rest.create("flood")
    fast = slow = None
    try:
        fast = stack.ws(port, f"/sessions/{sid}")
        if b'"amarre.hello"' not in fast.next_text():
            raise RuntimeError("first frame is not amarre.hello")
        if with_slow:
            slow = Conn(HOST, port, f"/sessions/{sid}", headers=stack.auth_headers(port), rcvbuf=cfg.lag_rcvbuf)
            if b'"amarre.hello"' not in slow.next_text():
                raise RuntimeError("first frame is not amarre.hello (slow client)")
        fast.send_text(b'{"type":"ready"}')  # the agent is up and echoing
        for c in (fast, slow):
            if c is not None:
                while b'"type":"ready"' not in c.next_text():
                    pass
        before = stack.metrics("lag")
        rss0 = vm_kib(host_pid, "VmRSS")
        wait_quiet()
        meter = stack.meter()
        t0 = now()
        fast.send_text(b'{"flood":%d,"size":200}' % n)
        # Bounded: the slow reader needs n / slow_rate seconds.
        deadline = t0 + (max(cfg.flood_deadline, 3 * n / slow_rate) if with_slow else cfg.flood_deadline)
        sel = selectors.DefaultSelector()
        fast.sock.setblocking(False)
        sel.register(fast.sock, selectors.EVENT_READ, fast)
        active = {fast}
        slow_wait = None  # when the throttled slow client may read again
        if slow is not None:
            slow.sock.setblocking(False)
            sel.register(slow.sock, selectors.EVENT_READ, slow)
            active.add(slow)
        rss_peak, next_sample = rss0, now()
        fast_cpu = None
        try:
            while active and now() < deadline:
                t = now()
                if t >= next_sample:
                    rss_peak = max(rss_peak, vm_kib(host_pid, "VmRSS"))
                    next_sample = t + 0.1
                if slow in active:
                    if slow_wait is None and slow.count >= slow_rate * (t - t0):
                        sel.unregister(slow.sock)
                        slow_wait = t0 + (slow.count + 64) / slow_rate
                    elif slow_wait is not None and t >= slow_wait:
                        sel.register(slow.sock, selectors.EVENT_READ, slow)
                        slow_wait = None
                timeout = min(0.1, max(0.0, next_sample - t))
                if slow_wait is not None:
                    timeout = min(timeout, max(0.0, slow_wait - t))
                if len(sel.get_map()) == 0:
                    time.sleep(timeout)
                    continue
                for key, _ in sel.select(timeout=timeout):
                    c = key.data
                    try:
                        chunk = c.sock.recv(262144 if c is fast else 16384)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        chunk = b""
                    if not chunk:
                        c.eof = True
                    elif c is fast:
                        c.count += c.feed(chunk, FLOOD_MARK)
                    else:
                        c.count += c.feed_ordered(chunk, FLOOD_MARK)
                    if c.count >= n or c.eof or c.close_code is not None or (c.gaps and c.last_n == b"%08d" % (n - 1)):
                        if c.count >= n:
                            c.done_at = now()
                        if c is fast:
                            fast_cpu = meter.stop()
                        sel.unregister(c.sock)
                        active.discard(c)
        finally:
            sel.close()
        cpu = meter.stop()
        rss_peak = max(rss_peak, vm_kib(host_pid, "VmRSS"))
        fast_s = (fast.done_at - t0) if fast.done_at else None
        r = {"with_slow": with_slow, "records": n,
             "fast": {"complete": fast.done_at is not None and fast.last_n == b"%08d" % (n - 1),
                      "received": fast.count, "seconds": round(fast_s or (now() - t0), 3),
                      "per_s": round(fast.count / (fast_s or (now() - t0))), "replay_gaps": fast.gaps,
                      "close_code": fast.close_code, "cpu": fast_cpu or cpu},
               "host_rss_before": rss0 * 1024, "host_rss_peak_sampled": rss_peak * 1024}
        if slow is not None:
            slow_s = (slow.done_at - t0) if slow.done_at else None
            summary = rest.json("GET", f"/sessions/{sid}")
            r["slow"] = {
                "target_per_s": round(slow_rate), "received": slow.count,
                "seconds": round(slow_s or (now() - t0), 3),
                "per_s": round(slow.count / (slow_s or (now() - t0))),
                "in_order": slow.disorder == 0, "disorder": slow.disorder,
                "first_disorder": None if slow.first_disorder is None else
                [slow.first_disorder[0], slow.first_disorder[1].decode(errors="replace")],
                "replay_gaps": slow.gaps, "first_gap": None if slow.first_gap is None else slow.first_gap.decode(errors="replace"),
                "close_code": slow.close_code, "eof": slow.eof,
                "clients_after": summary.get("clients"),
                "cpu": cpu,
            }
            r["slow"]["got_everything"] = (slow.count == n and slow.disorder == 0 and slow.gaps == 0
                                           and slow.last_n == b"%08d" % (n - 1))
            r["slow"]["never_closed"] = (slow.close_code is None and not slow.eof and summary.get("clients") == 2)
        after = stack.metrics("lag")
        r["catchups"], r["dropped_slow"] = (
            None if after[m] is None or before[m] is None else int(after[m] - before[m])
            for m in ("amarre_catchups_total", "amarre_clients_dropped_slow_total"))
        msg = (f"  lagging {'fast + slow' if with_slow else 'fast alone '}: fast {r['fast']['per_s']:>7}/s in "
               f"{r['fast']['seconds']:.2f}s{'' if r['fast']['complete'] else ' INCOMPLETE'}")
        if slow is not None:
            sl = r["slow"]
            msg += (f"; slow {sl['received']}/{n} at {sl['per_s']}/s (target {sl['target_per_s']}/s) in {sl['seconds']:.1f}s, "
                    f"{'everything in order' if sl['got_everything'] else 'NOT EVERYTHING'} "
                    f"(disorder {sl['disorder']}, gaps {sl['replay_gaps']}), "
                    f"{'never closed' if sl['never_closed'] else 'CLOSED ' + str(sl['close_code'])}")
        msg += (f"; catch-ups {r['catchups']}, dropped {r['dropped_slow']}; host RSS {rss0 / 1024:.0f} -> "
                f"peak {rss_peak / 1024:.0f} MiB")
        say(msg)
        return r
    finally:
        for c in (fast, slow):
            if c is not None:
                c.close()
        rest.delete(sid)
        stack.idle()


def bench_lagging(stack: Stack, cfg) -> dict:
    """Issue 11: one session of a store-on stack, a flood of `flood_records`; the fast client's
    rate alone and with a client beside it that reads `lag_slowdown` times slower (than the
    best rate alone measured so far in this run), in interleaved rounds; best of each."""
    n = cfg.flood_records
    host_pid = stack.pids["host-lag"]
    hwm0 = vm_kib(host_pid, "VmHWM")
    got = {"alone": [], "beside": []}
    # Untimed: the first floods into a fresh database are slower (the file and its WAL grow);
    # the other stacks have had their warm-up from the measures before.
    warmup = lag_run(stack, False, n, 1.0, cfg)
    for r in range(cfg.lag_rounds):
        for mode in (("alone", "beside") if r % 2 == 0 else ("beside", "alone")):
            alone = [x["fast"]["per_s"] for x in got["alone"] + [warmup] if x["fast"]["complete"]]
            if mode == "beside" and not alone:
                continue  # the slow reader's pace comes from the rate alone
            slow_rate = max(alone) / cfg.lag_slowdown if alone else 1.0
            try:
                got[mode].append(lag_run(stack, mode == "beside", n, slow_rate, cfg))
            except Exception as e:  # reported; the other rounds still run
                say(f"  lagging {mode} FAILED: {e!r}")
                got[mode].append({"error": repr(e), "fast": {"complete": False, "per_s": 0}})
    alone = [x for x in got["alone"] if x["fast"]["complete"]]
    beside = [x for x in got["beside"] if "slow" in x]
    if not alone or not beside:
        raise RuntimeError(f"lagging: no complete run alone or beside: {got}")
    best_alone = max(x["fast"]["per_s"] for x in alone)
    best_beside = max(x["fast"]["per_s"] for x in beside if x["fast"]["complete"]) if any(
        x["fast"]["complete"] for x in beside) else 0
    out = {
        "records": n, "slowdown": cfg.lag_slowdown, "retain_records": stack.lag_retain,
        "rcvbuf": cfg.lag_rcvbuf, "warmup": warmup, "rounds": got,
        "fast_alone_per_s": best_alone, "fast_beside_per_s": best_beside,
        "ratio": round(best_beside / best_alone, 3),
        "slow_got_everything": all(x["slow"]["got_everything"] for x in beside),
        "slow_never_closed": all(x["slow"]["never_closed"] for x in beside),
        "slow_runs": len(beside),
        "slow_per_s": [x["slow"]["per_s"] for x in beside],
        "slow_seconds": [x["slow"]["seconds"] for x in beside],
        "catchups": [x.get("catchups") for x in beside],
        "dropped_slow": sum(x.get("dropped_slow") or 0 for x in got["alone"] + got["beside"] if "error" not in x),
        "host_rss_before": min(x["host_rss_before"] for x in beside),
        "host_rss_peak_sampled": max(x["host_rss_peak_sampled"] for x in beside),
        "host_vmhwm_before": hwm0 * 1024, "host_vmhwm": vm_kib(host_pid, "VmHWM") * 1024,
    }
    say(f"  lagging: fast alone {best_alone}/s, beside a {cfg.lag_slowdown}x slower reader {best_beside}/s "
        f"(ratio {out['ratio']:.2f}); slow got everything: {out['slow_got_everything']}, never closed: "
        f"{out['slow_never_closed']}; host peak RSS {out['host_rss_peak_sampled'] / 2**20:.0f} MiB sampled, "
        f"VmHWM {out['host_vmhwm'] / 2**20:.0f} MiB")
    return out


# --- control plane (wrk) -----------------------------------------------------------


def wrk(stack: Stack, url: str, script: str, seconds: float, connections: int, port: int | None = None) -> dict:
    headers = [a for k, v in stack.auth_headers(port).items() for a in ("-H", f"{k}: {v}")] if port else []
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", *headers,
           "-s", str(stack.repo / "bench/wrk" / script), url]
    wait_quiet()
    meter = stack.meter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    cpu = meter.stop()
    line = next((l for l in p.stdout.splitlines() if l.startswith("BENCH_JSON ")), None)
    if p.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({p.returncode}): {p.stdout[-500:]} {p.stderr[-500:]}")
    r = json.loads(line[len("BENCH_JSON "):])
    r["rps"] = round(r["requests"] / (r["duration_us"] / 1e6))
    r["p50_ms"] = round(r.pop("p50_us") / 1000, 3)
    r["p99_ms"] = round(r.pop("p99_us") / 1000, 3)
    r["connections"] = connections
    r["cpu"] = cpu
    return r


def bench_control(stack: Stack, cfg) -> dict:
    rest = stack.rest["on"]
    sids = [rest.create("echo") for _ in range(cfg.control_sessions)]
    # The same sessions on the stack without access control, for the cost of checking tokens.
    off_sids = [stack.rest["off"].create("echo") for _ in range(cfg.control_sessions)]
    out = {}
    try:
        status, body = rest.call("GET", "/sessions")
        _, off_body = stack.rest["off"].call("GET", "/sessions")
        (stack.state / "static/sessions.json").write_bytes(body)
        base = f"http://{HOST}:{stack.port['on']}"
        peer_base = f"http://{HOST}:{stack.peer_port}"
        static_status, static_body = Rest(stack.peer_port).call("GET", "/bench-static/sessions.json")
        if static_status != 200 or len(static_body) != len(body):
            raise RuntimeError(f"static peer: {static_status}, {len(static_body)} bytes vs {len(body)}")
        off_base = f"http://{HOST}:{stack.port['off']}"
        on_port = stack.port["on"]
        runs = [("GET /sessions", f"{base}/sessions", "get.lua", cfg.wrk_connections, on_port),
                ("GET /sessions, auth off", f"{off_base}/sessions", "get.lua", cfg.wrk_connections, None),
                ("nginx static (same size)", f"{peer_base}/bench-static/sessions.json", "get.lua", cfg.wrk_connections, None),
                ("GET /healthz", f"{base}/healthz", "get.lua", cfg.wrk_connections, on_port),
                ("POST+DELETE /sessions", f"{base}/sessions", "create_delete.lua", 2, on_port)]
        for name, url, script, conns, port in runs:
            r = wrk(stack, url, script, cfg.wrk_seconds, conns, port)
            if name == "GET /sessions":
                r["body_bytes"] = len(body)
            if name == "GET /sessions, auth off":
                r["body_bytes"] = len(off_body)
            if script == "create_delete.lua":
                r["pairs_per_s"] = round(r["rps"] / 2)
            out[name] = r
            say(f"  wrk {name:26s} {r['rps']:>7} req/s  p99 {r['p99_ms']:.2f} ms  "
                f"non-2xx {r['non2xx']}  errors {r['errors']}  cores: {cpu_text(r['cpu'])}")
            stack.idle()
    finally:
        rest.delete_all()
        stack.rest["off"].delete_all()
        stack.idle()
    return out


# --- memory -------------------------------------------------------------------------


def shipped_nginx_settings(conf: Path) -> dict:
    """The sizing of the rendered (shipped, unedited) nginx.conf the clients went through."""
    text = conf.read_text()
    out = {}
    for key in ("worker_processes", "worker_connections", "worker_rlimit_nofile"):
        for line in text.splitlines():
            parts = line.split()
            if parts and parts[0] == key and len(parts) > 1:
                out[key] = parts[1].rstrip(";")
                break
    return out


def bench_memory(stack: Stack, cfg) -> dict:
    rest = stack.rest["on"]
    pids = stack.server_pids("on")

    def snapshot():
        stack.idle()
        time.sleep(0.5)
        return {"amarre-host": rss_bytes(pids[0]), "amarre-api": rss_bytes(pids[1])}

    base = snapshot()
    sids = []
    conns = []
    try:
        for _ in range(cfg.mem_sessions):
            sids.append(rest.create("echo"))
        with_sessions = snapshot()
        agents = children(pids[0])
        for sid in sids:
            for _ in range(cfg.mem_clients):
                c = stack.ws(stack.port["on"], f"/sessions/{sid}")
                conns.append(c)
                c.next_text()  # hello
        summary = rest.json("GET", f"/sessions/{sids[0]}")
        with_clients = snapshot()
        # Every client is still there after the idle wait, as the host counts them, and what
        # the store-on nginx (the shipped nginx.conf) spends on them.
        listed = rest.json("GET", "/sessions")
        reported = sum(s.get("clients", 0) for s in listed if s["id"] in set(sids))
        workers = stack.nginx_workers("on")
        nginx_rss = sum(rss_bytes(p) for p in workers)
        nginx_fds = sum(len(os.listdir(f"/proc/{p}/fd")) for p in workers)
    finally:
        for c in conns:
            c.close()
        for sid in sids:
            rest.delete(sid)
        rest.delete_all()
    total = lambda s: s["amarre-host"] + s["amarre-api"]  # noqa: E731
    n_clients = len(conns)
    r = {
        "sessions": cfg.mem_sessions, "clients_per_session": cfg.mem_clients, "clients": n_clients,
        "agents_seen": len(agents), "clients_reported_by_host": summary.get("clients"),
        "rss_0": base, "rss_sessions": with_sessions, "rss_clients": with_clients,
        "nginx_worker_rss_with_clients": nginx_rss,
        "nginx_worker_fds_with_clients": nginx_fds,
        "clients_reported_total": reported,
        "nginx_conf": shipped_nginx_settings(stack.nginx_conf["on"]),
        "bytes_per_session": round((total(with_sessions) - total(base)) / cfg.mem_sessions),
        "bytes_per_client": round((total(with_clients) - total(with_sessions)) / max(1, n_clients)),
    }
    say(f"  memory: 0 sessions {total(base) / 2**20:.1f} MiB, {cfg.mem_sessions} sessions "
        f"{total(with_sessions) / 2**20:.1f} MiB, +{n_clients} clients {total(with_clients) / 2**20:.1f} MiB; "
        f"{r['bytes_per_session'] / 1024:.1f} KiB/session, {r['bytes_per_client'] / 1024:.2f} KiB/client")
    return r


# --- start-up and replay -------------------------------------------------------------


def bench_startup(stack: Stack, cfg) -> dict:
    """POST /sessions, WebSocket handshake (+ amarre.hello), one JSON line to the echo agent
    and its answer back; then DELETE (not timed). Peer: websocketd spawns its agent per
    connection, so connect + first echo is its whole start-up."""
    rest = stack.rest["on"]
    amarre, wsd = [], []
    parts = {"post": [], "connect": [], "first_echo": []}
    for i in range(cfg.startup_count):
        t0 = now()
        sid = rest.create("echo")
        t1 = now()
        c = stack.ws(stack.port["on"], f"/sessions/{sid}")
        c.next_text()  # hello
        t2 = now()
        c.send_text(echo_payload(i))
        while ECHO_MARK not in c.next_text():
            pass
        t3 = now()
        amarre.append((t3 - t0) * 1000)
        parts["post"].append((t1 - t0) * 1000)
        parts["connect"].append((t2 - t1) * 1000)
        parts["first_echo"].append((t3 - t2) * 1000)
        c.close()
        rest.delete(sid)
        t0 = now()
        c = stack.ws(stack.peer_port, "/wsd/echo")
        c.send_text(echo_payload(i))
        c.next_text()
        wsd.append((now() - t0) * 1000)
        c.close()
    rest.delete_all()
    stack.idle()
    r = {"n": cfg.startup_count,
         "amarre": {"p50_ms": round(pct(amarre, 50), 3), "p99_ms": round(pct(amarre, 99), 3)},
         "amarre_parts_p50_ms": {k: round(pct(v, 50), 3) for k, v in parts.items()},
         "wsd-nginx": {"p50_ms": round(pct(wsd, 50), 3), "p99_ms": round(pct(wsd, 99), 3)}}
    say(f"  start-up: amarre p50 {r['amarre']['p50_ms']:.2f} ms p99 {r['amarre']['p99_ms']:.2f} ms "
        f"(p50 of parts: {r['amarre_parts_p50_ms']}); websocketd connect+spawn p50 {r['wsd-nginx']['p50_ms']:.2f} ms")
    return r


def bench_replay(stack: Stack, cfg) -> dict:
    rest = stack.rest["on"]
    n = cfg.replay_records
    sid = rest.create("flood")
    try:
        c = stack.ws(stack.port["on"], f"/sessions/{sid}")
        c.next_text()
        t0 = now()
        c.send_text(b'{"flood":%d,"size":200}' % n)
        times = drain_many([c], n, t0 + cfg.flood_deadline, t0)
        live = times[0]
        c.close()
        if live is None:
            raise RuntimeError(f"live flood of {n} records incomplete ({c.count})")
        stack.idle()
        time.sleep(0.5)  # the store commits at least every 50 ms
        last_seq = rest.json("GET", f"/sessions/{sid}").get("lastSeq")
        meter = stack.meter()
        t0 = now()
        c = stack.ws(stack.port["on"], f"/sessions/{sid}?since=0")
        times = drain_many([c], n, t0 + cfg.flood_deadline, t0)
        cpu = meter.stop()
        c.close()
        ok = times[0] is not None and c.last_n == b"%08d" % (n - 1)
        r = {"records": n, "last_seq": last_seq, "complete": ok, "received": c.count,
             "seconds": round(times[0], 3) if times[0] else None,
             "records_per_s": round(n / times[0]) if times[0] else None,
             "live_seconds": round(live, 3), "cpu": cpu}
        say(f"  replay: {n} records in {r['seconds']} s ({r['records_per_s']}/s); live delivery took {live:.2f} s")
        return r
    finally:
        rest.delete(sid)
        stack.idle()


# --- search (issue 14) ----------------------------------------------------------------

def piflood_lib() -> dict:
    """bench/agents/flood.py's names (its word pools), without running it."""
    spec = importlib.util.spec_from_file_location("amarre_bench_flood", Path(__file__).parent / "agents" / "flood.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


def open_ready(stack: Stack, sid: str) -> Conn:
    """A client of `sid` (store-on stack) whose agent has answered once."""
    c = stack.ws(stack.port["on"], f"/sessions/{sid}")
    hello = c.next_text()
    if b'"amarre.hello"' not in hello:
        c.close()
        raise RuntimeError(f"first frame is not amarre.hello: {hello[:100]!r}")
    # {"piflood":0} builds the agent's word pools (writing nothing) before anything is timed.
    c.send_text(b'{"piflood":0,"size":200}')
    c.send_text(b'{"type":"ready"}')
    while b'"type":"ready"' not in c.next_text():
        pass
    return c


def wait_stored(rest: Rest, sid: str, seq: int, limit: float) -> float:
    """Polls until record `seq` of `sid` is committed (GET /events shows it); returns when."""
    deadline = now() + limit
    while True:
        page = rest.json("GET", f"/sessions/{sid}/events?before={seq + 1}&limit=1")
        if page and page[-1].get("_seq") == seq:
            return now()
        if now() > deadline:
            raise TimeoutError(f"record {seq} of {sid} not stored after {limit:.0f} s "
                               f"(last stored: {page[-1].get('_seq') if page else None})")
        time.sleep(0.02)


def index_flood(stack: Stack, mode: str, n: int, cfg) -> dict:
    """One flood of `n` records of 200 B to one client of a fresh `piflood` session (store on):
    `plain` records (bench/agents/flood.py's, not indexed) or `indexed` ones (pi message_end
    with words). Timed from the trigger to the client's last record ("delivery", the flood
    rows' figure), and to the last record committed ("stored")."""
    rest = stack.rest["on"]
    sid = rest.create("piflood")
    c = None
    try:
        c = open_ready(stack, sid)
        before = stack.metrics("on")
        wait_quiet()
        meter = stack.meter()
        t0 = now()
        if mode == "plain":
            c.send_text(b'{"flood":%d,"size":200}' % n)
            marker = FLOOD_MARK
        else:
            c.send_text(b'{"piflood":%d,"from":0,"size":200}' % n)
            marker = PI_FLOOD_MARK
        times = drain_many([c], n, t0 + cfg.flood_deadline, t0, marker)
        elapsed = now() - t0
        cpu = meter.stop()
        done = times[0]
        complete = done is not None and c.last_n == b"%08d" % (n - 1)
        r = {"mode": mode, "records": n, "complete": complete, "received": c.count,
             "seconds": round(done if done is not None else elapsed, 3),
             "per_client": round(c.count / (done if done is not None else elapsed)), "cpu": cpu,
             "replay_gaps": c.gaps, "close_code": c.close_code, "eof": c.eof}
        if c.first_gap:
            r["first_gap"] = c.first_gap.decode(errors="replace")
        after = stack.metrics("on")
        r["catchups"] = (None if after["amarre_catchups_total"] is None or before["amarre_catchups_total"] is None
                         else int(after["amarre_catchups_total"] - before["amarre_catchups_total"]))
        if complete:
            last = rest.json("GET", f"/sessions/{sid}")["lastSeq"]
            r["stored_seconds"] = round(wait_stored(rest, sid, last, cfg.flood_deadline) - t0, 3)
            r["stored_per_s"] = round(n / r["stored_seconds"])
        flag = "" if complete else (f"  INCOMPLETE ({c.count}/{n}, replay gaps {c.gaps} {r.get('first_gap', '')}, "
                                    f"close {c.close_code}, eof {c.eof})")
        say(f"  flood {mode:7s} x1  {r['per_client']:>7}/s delivered in {r['seconds']:.2f}s, "
            f"stored in {r.get('stored_seconds', '-')}s  cores: {cpu_text(cpu)}{flag}")
        return r
    finally:
        if c is not None:
            c.close()
        rest.delete(sid)
        stack.idle()


def bench_indexing(stack: Stack, cfg) -> dict:
    """The cost of the search index to the relay: the same flood (1 client, store on) of plain
    records and of records of an indexed kind, interleaved in rounds; best round of each."""
    n = cfg.flood_records
    got = {"plain": [], "indexed": []}
    for r in range(cfg.index_rounds):
        for mode in (("plain", "indexed") if r % 2 == 0 else ("indexed", "plain")):
            try:
                got[mode].append(index_flood(stack, mode, n, cfg))
            except Exception as e:  # reported; the other rounds still run
                say(f"  flood {mode} FAILED: {e!r}")
                got[mode].append({"mode": mode, "error": repr(e)})
    out = {"records": n, "rounds": got}
    for mode, runs in got.items():
        ok = [x for x in runs if x.get("complete")]
        if not ok:
            raise RuntimeError(f"no complete {mode} flood: {runs}")
        best = max(ok, key=lambda x: x["per_client"])
        out[mode] = {"per_client": best["per_client"], "seconds": best["seconds"],
                     "stored_per_s": max(x.get("stored_per_s", 0) for x in ok), "cpu": best["cpu"]}
    out["ratio"] = round(out["plain"]["per_client"] / out["indexed"]["per_client"], 3)
    out["stored_ratio"] = round(out["plain"]["stored_per_s"] / max(1, out["indexed"]["stored_per_s"]), 3)
    say(f"  indexing: plain {out['plain']['per_client']}/s vs indexed {out['indexed']['per_client']}/s "
        f"delivered (plain/indexed {out['ratio']:.2f}); stored {out['plain']['stored_per_s']}/s vs "
        f"{out['indexed']['stored_per_s']}/s")
    return out


def search_queries(count: int, seed: int) -> list[tuple[str, str]]:
    """`count` (kind, query) pairs of moderate selectivity over the words the agent writes:
    single words (each in ~0.6 % of the records), two words (both must match), two-word
    phrases taken from the texts, and 4-letter prefixes."""
    lib = piflood_lib()
    a, b = lib["pi_texts"](200)
    texts = [t.split() for t in a + b]
    words = sorted({w for t in texts for w in t})
    rng = random.Random(seed)
    shares = [("word", 0.4), ("two words", 0.24), ("phrase", 0.2), ("prefix", 0.16)]
    out = []
    for kind, share in shares:
        k = count - len(out) if kind == "prefix" else round(count * share)
        for _ in range(k):
            if kind == "word":
                q = rng.choice(words)
            elif kind == "two words":
                q = " ".join(rng.sample(words, 2))
            elif kind == "phrase":
                t = rng.choice([t for t in texts if len(t) >= 2])
                i = rng.randrange(len(t) - 1)
                q = f'"{t[i]} {t[i + 1]}"'
            else:
                q = rng.choice([w for w in words if len(w) >= 6])[:4] + "*"
            out.append((kind, q))
    return out


def fill_search(stack: Stack, n: int, per_session: int, cfg) -> tuple[list[str], float]:
    """Stores `n` indexed records through the stack: `piflood` sessions of at most
    `per_session` records (under AMARRE_RETAIN_RECORDS), one after the other, each flooding
    with no client attached; returns the sessions and the seconds until all were committed."""
    rest = stack.rest["on"]
    sids: list[str] = []
    t0 = now()
    first = 0
    try:
        while first < n:
            k = min(per_session, n - first)
            sid = rest.create("piflood")
            sids.append(sid)
            c = open_ready(stack, sid)  # the "ready" echo is record 1
            try:
                c.send_text(b'{"piflood":%d,"from":%d,"size":200}' % (k, first))
                while PI_FLOOD_MARK not in c.next_text()[:48]:  # the agent has started
                    pass
            finally:
                c.close()  # nobody reads: the host stores as fast as its writer goes
            wait_stored(rest, sid, 1 + k, max(120.0, k / 2000))
            first += k
            say(f"  search fill: {first:,}/{n:,} records stored ({first / (now() - t0):,.0f}/s)")
    except BaseException:
        for sid in sids:
            rest.delete(sid)
        raise
    return sids, now() - t0


def bench_search(stack: Stack, cfg) -> dict:
    """GET /search over `search_records` stored records of varied words: the median and p99 of
    `search_queries` queries of moderate selectivity, each timed alone (one connection,
    through nginx, with the token), after a few untimed ones."""
    rest = stack.rest["on"]
    n = cfg.search_records
    sids, fill_seconds = fill_search(stack, n, cfg.search_per_session, cfg)
    try:
        stack.idle()
        db = sum(p.stat().st_size for p in (stack.state / "on").glob("amarre.sqlite*") if p.is_file())
        queries = search_queries(cfg.search_queries, seed=14)
        warmup = search_queries(cfg.search_warmup, seed=41)
        timed = []
        for i, (kind, q) in enumerate(warmup + queries):
            path = "/search?" + urllib.parse.urlencode({"q": q, "limit": 20}, quote_via=urllib.parse.quote)
            t0 = now()
            status, payload = rest.call("GET", path)
            ms = (now() - t0) * 1000
            if status != 200:
                raise RuntimeError(f"GET {path} -> {status}: {payload[:300]!r}")
            if i < len(warmup):
                continue
            body = json.loads(payload)
            timed.append({"kind": kind, "q": q, "ms": round(ms, 3), "results": len(body["results"]),
                          "more": body["next"] is not None})
    finally:
        for sid in sids:
            rest.delete(sid)
        stack.idle()
    ms = [x["ms"] for x in timed]
    by_kind = {}
    for kind in dict.fromkeys(x["kind"] for x in timed):
        k = [x["ms"] for x in timed if x["kind"] == kind]
        by_kind[kind] = {"n": len(k), "p50_ms": round(pct(k, 50), 2), "max_ms": round(max(k), 2)}
    r = {"records": n, "sessions": len(sids), "fill_seconds": round(fill_seconds, 1),
         "fill_per_s": round(n / fill_seconds), "db_bytes": db, "queries": len(timed),
         "p50_ms": round(pct(ms, 50), 2), "p99_ms": round(pct(ms, 99), 2), "mean_ms": round(statistics.fmean(ms), 2),
         "by_kind": by_kind, "empty_answers": sum(1 for x in timed if x["results"] == 0), "per_query": timed}
    say(f"  search: {n:,} records in {len(sids)} sessions, filled in {r['fill_seconds']} s "
        f"({r['fill_per_s']:,}/s, database {db / 2**20:.0f} MiB); {len(timed)} queries: "
        f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms; by kind {by_kind}; "
        f"{r['empty_answers']} found nothing")
    return r


# --- report -------------------------------------------------------------------------


def machine_info(args) -> dict:
    def run(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (p.stdout + p.stderr).strip()
        except (OSError, subprocess.TimeoutExpired):
            return None

    model = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) * 1024
    swift = run(["swift", "--version"]) or ""
    return {
        "nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(), "mem_bytes": mem,
        "os": run(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "nginx": (run(["nginx", "-v"]) or "").replace("nginx version: ", ""),
        "websocketd": run(["dpkg-query", "-W", "-f=${Version}", "websocketd"]),
        "wrk": run(["dpkg-query", "-W", "-f=${Version}", "wrk"]),
        "swift": next((l for l in swift.splitlines() if "Swift version" in l), swift[:80]),
        "python": platform.python_version(),
        "loadavg_at_start": os.getloadavg(),
    }


def fmt_rate(x):
    return "-" if x is None else f"{x:,.0f}/s"


def targets_table(res: dict) -> list[dict]:
    rows = []

    def add(measure, amarre, peer, ratio, target, cmp):
        ok = None if ratio is None else (ratio <= target if cmp == "<=" else ratio >= target)
        rows.append({"measure": measure, "amarre": amarre, "peer": peer,
                     "ratio": None if ratio is None else round(ratio, 3),
                     "target": f"{'≤' if cmp == '<=' else '≥'} {target:g}" if target is not None else "-",
                     "ok": ok})

    rtt = res.get("rtt", {})
    if rtt:
        w = rtt["wsd-nginx"]
        for label in ("on", "off"):
            a = rtt[f"amarre-{label}"]
            add(f"round trip p50, store {label} (p99 {a['p99_ms']:.3f} vs {w['p99_ms']:.3f} ms)",
                f"{a['p50_ms']:.3f} ms", f"websocketd via nginx {w['p50_ms']:.3f} ms",
                a["p50_ms"] / w["p50_ms"], 1, "<=")
        add("round trip p50, store on / off", f"{rtt['amarre-on']['p50_ms']:.3f} ms",
            f"store off {rtt['amarre-off']['p50_ms']:.3f} ms",
            rtt["amarre-on"]["p50_ms"] / rtt["amarre-off"]["p50_ms"], 1.2, "<=")
    pipe = res.get("pipelined", {})
    if pipe:
        w = pipe["wsd-nginx"]["records_per_s"]
        for label in ("on", "off"):
            a = pipe[f"amarre-{label}"]["records_per_s"]
            add(f"pipelined (32 in flight), store {label}", fmt_rate(a), f"websocketd via nginx {fmt_rate(w)}",
                a / w, 1, ">=")
        add("pipelined, store off / on", fmt_rate(pipe["amarre-on"]["records_per_s"]),
            f"store off {fmt_rate(pipe['amarre-off']['records_per_s'])}",
            pipe["amarre-off"]["records_per_s"] / pipe["amarre-on"]["records_per_s"], 1.2, "<=")
    flood = res.get("flood", {})
    for k in sorted({v["clients"] for v in flood.values()}):
        w = flood.get(f"wsd-nginx/{k}", {})
        for label in ("on", "off"):
            a = flood.get(f"amarre-{label}/{k}", {})
            if "per_client_median" not in a or "per_client_median" not in w:
                add(f"flood to {k} client(s), store {label}", a.get("error", "-"), w.get("error", "-"), None, 1, ">=")
                continue
            inc = "" if a["complete"] else " (incomplete)"
            add(f"flood {a['records']:,} recs to {k} client(s), store {label}: per client (aggregate)",
                f"{fmt_rate(a['per_client_median'])} ({fmt_rate(a['aggregate'])}){inc}",
                f"websocketd via nginx, {k} agent(s): {fmt_rate(w['per_client_median'])} ({fmt_rate(w['aggregate'])})",
                a["per_client_median"] / w["per_client_median"], 1, ">=")
        on, off = flood.get(f"amarre-on/{k}", {}), flood.get(f"amarre-off/{k}", {})
        if "per_client_median" in on and "per_client_median" in off:
            add(f"flood to {k} client(s), store off / on", fmt_rate(on["per_client_median"]),
                f"store off {fmt_rate(off['per_client_median'])}",
                off["per_client_median"] / on["per_client_median"], 1.2, "<=")
    lg = res.get("lagging")
    if lg:
        add(f"lagging client: fast client's rate beside a {lg['slowdown']}x slower reader of the same session / "
            f"alone ({lg['records']:,} recs, store on)", fmt_rate(lg["fast_beside_per_s"]),
            f"alone {fmt_rate(lg['fast_alone_per_s'])}", lg["ratio"], 0.8, ">=")
        ok = lg["slow_got_everything"] and lg["slow_never_closed"]
        catchups = ", ".join("-" if x is None else str(x) for x in lg["catchups"])
        rows.append({
            "measure": f"lagging client: the slow reader gets all {lg['records']:,} records in order, no gap or "
                       f"duplicate, never closed ({lg['slow_runs']} run(s); catch-ups from the store: {catchups})",
            "amarre": ("yes" if ok else "**no**") + " (" + ", ".join(
                f"{r:,}/s in {t:.1f} s" for r, t in zip(lg["slow_per_s"], lg["slow_seconds"])) + ")",
            "peer": "-", "ratio": None, "target": "everything", "ok": ok})
        add("lagging client: amarre-host peak RSS during it (max of VmHWM and VmRSS sampled every 0.1 s; "
            "sampled before → peak)", f"{max(lg['host_vmhwm'], lg['host_rss_peak_sampled']) / 2**20:.1f} MiB",
            f"{lg['host_rss_before'] / 2**20:.1f} → {lg['host_rss_peak_sampled'] / 2**20:.1f} MiB", None, None, "<=")
    ctl = res.get("control", {})
    if ctl:
        s, st = ctl["GET /sessions"], ctl["nginx static (same size)"]
        add(f"GET /sessions ({s['body_bytes']} B body): req/s (p99)", f"{s['rps']:,} ({s['p99_ms']:.2f} ms)",
            f"nginx static {st['rps']:,} ({st['p99_ms']:.2f} ms)", s["rps"] / st["rps"], 0.5, ">=")
        if "GET /sessions, auth off" in ctl:
            a = ctl["GET /sessions, auth off"]
            add(f"GET /sessions, auth on / off ({s['body_bytes']} vs {a['body_bytes']} B body)", f"{s['rps']:,}",
                f"auth off {a['rps']:,}", s["rps"] / a["rps"], 0.9, ">=")
        h = ctl["GET /healthz"]
        add("GET /healthz: req/s (p99)", f"{h['rps']:,} ({h['p99_ms']:.2f} ms)", "-", None, None, ">=")
        cd = ctl["POST+DELETE /sessions"]
        add("POST+DELETE pairs/s (p99 per request)", f"{cd['pairs_per_s']:,} ({cd['p99_ms']:.2f} ms)", "-",
            None, None, ">=")
    mem = res.get("memory")
    if mem:
        add(f"memory per idle session ({mem['sessions']} sessions)", f"{mem['bytes_per_session'] / 1024:.1f} KiB",
            "target 96 KiB", mem["bytes_per_session"] / (96 * 1024), 1, "<=")
        add(f"memory per idle client ({mem['clients']} clients)", f"{mem['bytes_per_client'] / 1024:.2f} KiB",
            "target 8 KiB", mem["bytes_per_client"] / (8 * 1024), 1, "<=")
        if "clients_reported_total" in mem:
            ngx = mem.get("nginx_conf", {})
            add(f"{mem['clients']:,} idle WebSocket clients through the shipped nginx.conf "
                f"(worker_connections {ngx.get('worker_connections', '?')}, worker_rlimit_nofile "
                f"{ngx.get('worker_rlimit_nofile', '?')}, unedited): connected, as the host counts them",
                f"{mem['clients_reported_total']:,} (nginx worker {mem['nginx_worker_rss_with_clients'] / 2**20:.1f} MiB, "
                f"{mem['nginx_worker_fds_with_clients']:,} fds)",
                "target 1,000", mem["clients_reported_total"] / 1000, 1, ">=")
    su = res.get("startup")
    if su:
        parts = su.get("amarre_parts_p50_ms", {})
        add(f"start-up: POST to first echo, p50 (p99), {su['n']} sessions; p50 of POST / connect / echo: "
            + " / ".join(f"{parts[k]:.2f}" for k in ("post", "connect", "first_echo") if k in parts) + " ms",
            f"{su['amarre']['p50_ms']:.2f} ms ({su['amarre']['p99_ms']:.2f} ms)",
            f"websocketd connect+spawn {su['wsd-nginx']['p50_ms']:.2f} ms ({su['wsd-nginx']['p99_ms']:.2f} ms)",
            None, None, "<=")
    rp = res.get("replay")
    if rp:
        add(f"replay since=0 of {rp['records']:,} records", f"{rp['seconds']} s ({fmt_rate(rp['records_per_s'])})",
            f"live delivery of the same {rp['live_seconds']} s", None, None, "<=")
    ix = res.get("indexing")
    if ix:
        add(f"indexing: flood {ix['records']:,} recs to 1 client, store on: plain / indexed (pi message_end) "
            f"records (stored: {fmt_rate(ix['plain']['stored_per_s'])} vs {fmt_rate(ix['indexed']['stored_per_s'])})",
            f"indexed {fmt_rate(ix['indexed']['per_client'])}", f"plain {fmt_rate(ix['plain']['per_client'])}",
            ix["ratio"], 1.1, "<=")
    se = res.get("search")
    if se:
        add(f"search over {se['records']:,} stored records: p50 (p99) of {se['queries']} queries",
            f"{se['p50_ms']:.1f} ms ({se['p99_ms']:.1f} ms)", "target 100 ms", se["p50_ms"] / 100, 1, "<=")
        add(f"search fill: {se['records']:,} indexed records stored through the stack ({se['sessions']} sessions)",
            f"{se['fill_seconds']} s ({fmt_rate(se['fill_per_s'])})", f"database {se['db_bytes'] / 2**20:.0f} MiB",
            None, None, "<=")
    return rows


def markdown(res: dict) -> str:
    m = res["machine"]
    lines = [
        f"Machine: {m['nproc']} × {m['cpu_model']}, {m['os']}, kernel {m['kernel']}; nginx {m['nginx']}, "
        f"websocketd {m['websocketd']}, wrk {m['wrk']}, {m['swift']}, Python {m['python']}; "
        f"load at start {m['loadavg_at_start'][0]:.2f}. Run {res['started']} ({res['mode']}, {res['seconds']:.0f} s).",
        "",
        "| measure | amarre | peer | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in res["targets"]:
        ok = {True: "yes", False: "**no**", None: "-"}[r["ok"]]
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(f"| {r['measure']} | {r['amarre']} | {r['peer']} | {ratio} | {r['target']} | {ok} |")
    cfg = res["config"]
    lines += [
        "",
        f"Ratios compare measures interleaved in this run (this machine is shared: the CPU other processes "
        f"used meanwhile is shown below). Throughputs are the best of {cfg['pipe_rounds']} rounds (pipelined) "
        f"and of {', '.join(f'{v} for {k} client(s)' for k, v in cfg['flood_rounds'].items())} (flood). "
        "Flood fan-out: amarre runs one agent whose records go to every client of the session; websocketd "
        "runs one agent per connection (k clients = k agents each writing every record), so the per-client "
        "rate is the comparable figure and websocketd's aggregate is k agents' work, not a fan-out. "
        "The store-on stack runs the defaults (8 MiB client queue, then catch-up from the store: a flood reader "
        "that falls behind is fed partly from the store, as users' clients are); the store-off stack "
        f"(AMARRE_DURABLE=0) has AMARRE_CLIENT_BUFFER_BYTES={cfg['client_buffer_bytes']}: without the store a "
        "client past its queue is dropped with 1013 at once, which a single full-speed reader of a "
        "200,000-record flood through nginx can be with 8 MiB.",
    ]
    rtt = res.get("rtt")
    if rtt:
        lines += ["", "Round trips and pipelining, all four paths:", "",
                  "| path | RTT p50 | RTT p99 | RTT records/s | pipelined records/s | client CPU (RTT / pipelined) |",
                  "|---|---|---|---|---|---|"]
        for t in TARGET_LABEL:
            r = rtt[t]
            p = res.get("pipelined", {}).get(t, {})
            lines.append(f"| {r['label']} | {r['p50_ms']:.3f} ms | {r['p99_ms']:.3f} ms | {r['records_per_s']:,} | "
                         f"{p.get('records_per_s', 0):,} | {r['client_cpu']:.0%} / {p.get('client_cpu', 0):.0%} |")
        others = [res[k]["phase_cpu"]["others"] for k in ("rtt", "pipelined") if "phase_cpu" in res.get(k, {})]
        if others:
            lines.append(f"\nCPU used by other processes on the machine meanwhile: "
                         f"{' / '.join(f'{x:.2f}' for x in others)} cores (RTT / pipelined phase).")
    flood = res.get("flood")
    if flood:
        lines += ["", "Flood (agent writes N records of 200 B; amarre: one agent fanned out to every client; "
                  "websocketd: one agent per connection, each writing N):", "",
                  "| path | clients | per client (median / min) | aggregate | seconds | complete | CPU (cores; others = not ours) |",
                  "|---|---|---|---|---|---|---|"]
        for key, r in flood.items():
            if "error" in r:
                lines.append(f"| {r['label']} | {r['clients']} | error: {r['error'][:80]} | | | | |")
                continue
            cpu = cpu_text(r["cpu"])
            lines.append(f"| {r['label']} | {r['clients']} | {r['per_client_median']:,} / {r['per_client_min']:,} | "
                         f"{r['aggregate']:,} | {r['seconds']} | {'yes' if r['complete'] else '**no**'} | {cpu} |")
    lg = res.get("lagging")
    if lg:
        lines += ["", f"Lagging client (issue 11): a store-on stack as shipped but for AMARRE_RETAIN_RECORDS="
                  f"{lg['retain_records']:,} (with the default 100,000 the slow reader is rightly told "
                  "`amarre.replay_gap` for what retention dropped); one session, a flood of "
                  f"{lg['records']:,} records of 200 B; the fast client reads at full speed, the slow one "
                  f"(16 KiB reads, SO_RCVBUF {lg['rcvbuf']}) is throttled to 1/{lg['slowdown']} of the fast client's best rate "
                  f"alone so far (an untimed warm-up flood first: {lg['warmup']['fast']['per_s']:,}/s).",
                  "", "| run | fast client | slow client | catch-ups | host RSS before → peak (sampled) | "
                  "CPU while the fast client read (cores) |",
                  "|---|---|---|---|---|---|"]
        for mode in ("alone", "beside"):
            for x in lg["rounds"][mode]:
                if "error" in x:
                    lines.append(f"| {mode} | error: {x['error'][:80]} | | | | |")
                    continue
                f = x["fast"]
                sl = x.get("slow")
                slow = "-" if not sl else (
                    f"{sl['received']:,} at {sl['per_s']:,}/s in {sl['seconds']} s; "
                    f"{'all, in order' if sl['got_everything'] else '**not all** (disorder %d, gaps %d)' % (sl['disorder'], sl['replay_gaps'])}, "
                    f"{'never closed' if sl['never_closed'] else '**closed** %s' % sl['close_code']}")
                lines.append(f"| {mode} | {f['per_s']:,}/s in {f['seconds']} s{'' if f['complete'] else ' **incomplete**'} | "
                             f"{slow} | {x.get('catchups')} | {x['host_rss_before'] / 2**20:.1f} → "
                             f"{x['host_rss_peak_sampled'] / 2**20:.1f} MiB | {cpu_text(f['cpu'])} |")
    se = res.get("search")
    if se:
        kinds = "; ".join(f"{k} {v['p50_ms']:.1f} ms (max {v['max_ms']:.1f}, {v['n']} queries)"
                          for k, v in se["by_kind"].items())
        lines += ["", f"Search (issue 14): {se['records']:,} pi `message_end` records of made-up words (each word in "
                  f"~0.6 % of them) stored through the stack in {se['sessions']} sessions; `GET /search` with limit 20, "
                  f"one at a time, through nginx with a token. p50 by kind: {kinds}. "
                  f"{se['empty_answers']} of {se['queries']} queries found nothing."]
    return "\n".join(lines)


def scan_logs(state: Path) -> dict:
    out = {}
    for name in ("amarre-host-on", "amarre-host-off", "amarre-host-lag", "amarre-api-on", "amarre-api-off",
                 "amarre-api-lag"):
        p = state / "log" / f"{name}.log"
        if not p.exists():
            continue
        warn, err, samples = 0, 0, []
        for line in p.read_text(errors="replace").splitlines():
            # swift-log's default handler: "<timestamp> <level> <label>: <message>"
            level = (line.split(" ", 2) + ["", ""])[1].lower()
            if level in ("error", "critical"):
                err += 1
                if len(samples) < 5:
                    samples.append(line[:300])
            elif level == "warning":
                warn += 1
                if len(samples) < 5:
                    samples.append(line[:300])
        out[name] = {"warning_lines": warn, "error_lines": err, "samples": samples}
    for label in ("on", "off", "lag"):
        nginx_err = state / label / "log/nginx-error.log"
        if nginx_err.exists():
            lines = nginx_err.read_text(errors="replace").splitlines()
            out[f"nginx-error.log ({label})"] = {"lines": len(lines), "samples": lines[:5]}
    return out


# --- main ---------------------------------------------------------------------------


def config(quick: bool):
    c = argparse.Namespace()
    if quick:
        c.rtt_count, c.rtt_warmup, c.rtt_rounds = 1000, 50, 2
        c.pipe_count, c.window, c.pipe_rounds = 4000, 32, 2
        c.flood_records, c.flood_clients, c.flood_deadline = 20_000, [1, 10], 20.0
        c.flood_rounds = {1: 1, 10: 1}
        c.wrk_seconds, c.wrk_connections, c.control_sessions = 1, 8, 10
        # 1,000 idle clients in the quick run too: the shipped nginx.conf must hold them.
        c.mem_sessions, c.mem_clients = 20, 50
        c.startup_count, c.replay_records = 10, 20_000
        c.search_records, c.search_queries, c.search_warmup = 100_000, 50, 5
        c.index_rounds = 2
    else:
        c.rtt_count, c.rtt_warmup, c.rtt_rounds = 10_000, 200, 20
        c.pipe_count, c.window, c.pipe_rounds = 20_000, 32, 4
        c.flood_records, c.flood_clients, c.flood_deadline = 200_000, [1, 10, 50], 90.0
        c.flood_rounds = {1: 3, 10: 2, 50: 1}
        c.wrk_seconds, c.wrk_connections, c.control_sessions = 5, 8, 10
        c.mem_sessions, c.mem_clients = 100, 10
        c.startup_count, c.replay_records = 50, 100_000
        c.search_records, c.search_queries, c.search_warmup = 1_000_000, 50, 5
        c.index_rounds = 3
    c.deadline = 60.0
    # The lagging client (issue 11): rounds of (fast alone, fast + slow); the slow reader's pace.
    c.lag_rounds = 1 if quick else 4
    c.lag_slowdown = 10
    c.lag_rcvbuf = 16384
    c.lag_retain = max(100_000, 2 * c.flood_records)
    # Sessions of the search fill stay under AMARRE_RETAIN_RECORDS (100,000 by default).
    c.search_per_session = 90_000
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--state-dir", type=Path, required=True)
    ap.add_argument("--marker", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated subset: memory,rtt,pipelined,flood,lagging,startup,"
                                                "control,replay,indexing,search")
    ap.add_argument("--client-buffer-bytes", type=int, default=256 << 20,
                    help="AMARRE_CLIENT_BUFFER_BYTES of the store-off stack only (the store-on ones run the default)")
    ap.add_argument("--max-sessions", type=int, default=400)
    ap.add_argument("--results-dir", type=Path)
    ap.add_argument("--update-readme", action="store_true")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 4096:
        say("warning: ulimit -n is below 4096; the 1000-client memory measure may fail")

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    cfg = config(args.quick)
    only = {x for x in args.only.split(",") if x}
    want_ = lambda name: not only or name in only  # noqa: E731
    (args.state_dir / "log").mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.timezone.utc)
    t_start = now()
    res = {"started": started.strftime("%Y-%m-%dT%H:%M:%SZ"), "mode": "quick" if args.quick else "full",
           "machine": machine_info(args), "config": vars(cfg) | {
               "client_buffer_bytes": args.client_buffer_bytes,
               "client_buffer_bytes_applies_to": "the store-off stack (AMARRE_DURABLE=0) only; store on: the default",
               "max_sessions": args.max_sessions,
               "nginx_changes": "none: each stack runs the nginx.conf scripts/render-nginx writes, in an nginx "
                                "of its own; the peers are a server of their own in the store-on nginx's conf.d/"}}
    procs = Procs(args.state_dir, args.marker)
    failed = []
    try:
        stack = Stack(args, procs, lag=want_("lagging"), lag_retain=cfg.lag_retain)
        say(f"starting {len(stack.labels)} x (nginx + amarre-host + amarre-api), 2 x websocketd under {args.state_dir}")
        stack.start()
        res["ports"] = {"store_on": stack.port["on"], "store_off": stack.port["off"], "lag": stack.port.get("lag"),
                        "websocketd_echo": stack.wsd_echo_port, "websocketd_flood": stack.wsd_flood_port}
        stack.idle()

        def step(name, fn):
            if not want_(name):
                return
            say(f"{name} ...")
            try:
                res[name] = fn()
            except KeyboardInterrupt:
                raise
            except Exception as e:
                say(f"{name} FAILED: {e!r}")
                res[name + "_error"] = repr(e)
                failed.append(name)
            procs.check()

        step("memory", lambda: bench_memory(stack, cfg))
        sessions = {}
        if want_("rtt") or want_("pipelined"):
            sessions = {label: stack.rest[label].create("echo") for label in ("on", "off")}
        def metered(fn):
            def run():
                meter = stack.meter()
                r = fn()
                r["phase_cpu"] = meter.stop()
                return r
            return run
        step("rtt", metered(lambda: bench_rtt(stack, sessions, cfg)))
        step("pipelined", metered(lambda: bench_pipelined(stack, sessions, cfg)))
        for label, sid in sessions.items():
            stack.rest[label].delete(sid)
        step("flood", lambda: bench_flood(stack, cfg))
        step("lagging", lambda: bench_lagging(stack, cfg))
        step("startup", lambda: bench_startup(stack, cfg))
        step("control", lambda: bench_control(stack, cfg))
        step("replay", lambda: bench_replay(stack, cfg))
        step("indexing", lambda: bench_indexing(stack, cfg))
        step("search", lambda: bench_search(stack, cfg))
        res["rss_end"] = {f"{k}-{label}": rss_bytes(stack.pids[f"{k}-{label}"])
                          for label in stack.labels for k in ("host", "api")}
        res["peak_rss_host"] = {}
        for k in (f"host-{label}" for label in stack.labels):
            with open(f"/proc/{stack.pids[k]}/status") as f:
                res["peak_rss_host"][k] = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM"))
    finally:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        say("stopping everything this run started")
        procs.stop_all()
    res["seconds"] = now() - t_start
    res["server_logs"] = scan_logs(args.state_dir)
    res["failed"] = failed
    res["targets"] = targets_table(res)
    table = markdown(res)
    results_dir = args.results_dir or args.repo / "bench/results"
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / (started.strftime("%Y-%m-%dT%H-%M-%SZ") + ("-quick" if args.quick else "") + ".json")
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(table)
    print(f"\nresults: {out}")
    for name, info in res["server_logs"].items():
        if info.get("error_lines") or info.get("warning_lines") or info.get("lines"):
            print(f"server log {name}: {json.dumps(info)[:600]}")
    if args.update_readme and not args.quick:
        readme = args.repo / "bench/README.md"
        text = readme.read_text()
        a, b = "<!-- bench:latest -->", "<!-- /bench:latest -->"
        if a in text and b in text:
            head, rest_ = text.split(a, 1)
            _, tail = rest_.split(b, 1)
            readme.write_text(head + a + "\n" + table + "\n" + b + tail)
            print(f"updated {readme}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
