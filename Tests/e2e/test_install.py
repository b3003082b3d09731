"""scripts/install: the files, the systemd units (checked with `systemd-analyze verify`), an
installed tree that runs on its own, and --uninstall.

Nothing here touches the machine's systemd: every install runs with --no-start into a private
directory (--prefix, and the unit and config directories through XDG_CONFIG_HOME or
--unit-dir/--config-dir). `systemd-analyze verify` needs no running systemd: for the user
units it gets a private XDG_RUNTIME_DIR (its user manager wants one; this container has no
login session), and it checks the syntax, every setting's value, that the executables exist,
and the references between the units. What the services then do is run here the way their
units say (ExecStartPre, ExecStart, Environment=, EnvironmentFile=), without systemd.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BIN_DIR, REPO, free_port, http_request, wait_for
from websockets.sync.client import connect as ws_connect

INSTALL = REPO / "scripts" / "install"
VERSION = (REPO / "VERSION").read_text().strip()
UNITS = ["amarre.target", "amarre-host.service", "amarre-api.service", "amarre-nginx.service"]

def test_systemd_analyze_is_there():
    """The units are checked with systemd-analyze: its absence is a failure, not a skip
    (scripts/test installs Debian's systemd package)."""
    assert shutil.which("systemd-analyze"), "systemd-analyze missing: apt-get install systemd"


def run(args, env, check=True, timeout=120):
    r = subprocess.run([str(INSTALL), *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, f"install {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def verify(unit_dir: Path, user: bool, runtime: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYSTEMD_")}
    if user:
        env["XDG_RUNTIME_DIR"] = str(runtime)
    args = ["systemd-analyze"] + (["--user"] if user else []) + ["verify"]
    args += [f"./{p.name}" for p in sorted(unit_dir.glob("amarre*"))]
    return subprocess.run(args, cwd=unit_dir, env=env, capture_output=True, text=True, timeout=60)


def unit_settings(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


class Tree:
    """A private place to install into: HOME, XDG dirs, a runtime dir for systemd-analyze."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="amarre-inst-", dir="/tmp"))
        self.prefix = self.root / "prefix"
        self.config = self.root / "config"
        self.state = self.root / "state"
        self.runtime = self.root / "rt"
        self.runtime.mkdir(mode=0o700)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AMARRE_")}
        self.env.update({"HOME": str(self.root / "home"), "XDG_CONFIG_HOME": str(self.config),
                         "XDG_STATE_HOME": str(self.state)})
        self.unit_dir = self.config / "systemd" / "user"
        self.env_file = self.config / "amarre" / "amarre.env"

    def install(self, *extra, check=True):
        return run(["--user", "--prefix", str(self.prefix), "--bin-dir", str(BIN_DIR), "--no-start", *extra],
                   self.env, check=check)

    def uninstall(self):
        return run(["--user", "--prefix", str(self.prefix), "--uninstall", "--no-start"], self.env)


@pytest.fixture(scope="module")
def user_install():
    t = Tree()
    t.first = t.install()
    yield t
    shutil.rmtree(t.root, ignore_errors=True)


# -- --help, --version ------------------------------------------------------------------

def test_help_and_version():
    r = run(["--version"], dict(os.environ))
    assert r.stdout == f"amarre install {VERSION}\n"
    r = run(["--help"], dict(os.environ))
    assert r.stdout.startswith("Usage: scripts/install") and "--uninstall" in r.stdout
    r = run(["--frobnicate"], dict(os.environ), check=False)
    assert r.returncode == 2 and "unknown argument" in r.stderr


# -- a user installation ----------------------------------------------------------------

def test_files_and_modes(user_install):
    t = user_install
    p = t.prefix
    for b in ("amarre-host", "amarre-api", "amarre-demo-agent"):
        assert (p / "bin" / b).read_bytes() == (BIN_DIR / b).read_bytes(), b
        assert mode(p / "bin" / b) == 0o755, b
    # Resource bundles beside the executables (Bundle.module looks there first).
    for r in BIN_DIR.glob("*.resources"):
        assert (p / "bin" / r.name).is_dir(), r.name
        for f in r.rglob("*"):
            if f.is_file():
                got = p / "bin" / r.name / f.relative_to(r)
                assert got.read_bytes() == f.read_bytes() and mode(got) == 0o644, got
    assert (p / "bin" / "amarre_AmarreAgents.resources").is_dir()
    assert (p / "www" / "index.html").read_bytes() == (REPO / "www" / "index.html").read_bytes()
    assert not (p / "www" / "test").exists()
    assert mode(p / "www" / "index.html") == 0o644 and mode(p / "www") == 0o755
    for f in (REPO / "nginx").glob("*.in"):
        assert (p / "nginx" / f.name).read_text() == f.read_text()
    for f in (REPO / "systemd").glob("*.in"):
        assert (p / "systemd" / f.name).read_text() == f.read_text()
    for s in ("amarre", "render-nginx", "install"):
        assert mode(p / "scripts" / s) == 0o755, s
    assert (p / "VERSION").read_text().strip() == VERSION
    assert subprocess.run([str(p / "scripts" / "install"), "--version"], capture_output=True,
                          text=True).stdout == f"amarre install {VERSION}\n"
    # The environment file: private, settings commented out, the PATH the agents need.
    assert mode(t.env_file) == 0o600
    text = t.env_file.read_text()
    assert "#AMARRE_PORT=8341" in text and f"PATH={t.env['PATH']}\n" in text
    assert not [l for l in text.splitlines() if l.startswith("AMARRE_")]


def test_units_are_written_and_say_what_they_do(user_install):
    t = user_install
    assert sorted(p.name for p in t.unit_dir.iterdir()) == sorted(UNITS)
    for name in UNITS:
        path = t.unit_dir / name
        assert mode(path) == 0o644, name
        text = path.read_text()
        assert not re.search(r"@[A-Za-z_]+@", text), name
        assert f"amarre {VERSION}" in text
    host = unit_settings(t.unit_dir / "amarre-host.service")
    api = unit_settings(t.unit_dir / "amarre-api.service")
    nginx = unit_settings(t.unit_dir / "amarre-nginx.service")
    state = t.state / "amarre"
    for u in (host, api, nginx):
        assert u["Restart"] == ["on-failure"]
        assert u["StandardOutput"] == ["journal"] and u["StandardError"] == ["journal"]
        assert u["EnvironmentFile"] == [f"-{t.env_file}"]
        assert u["Environment"] == [f"AMARRE_STATE_DIR={state}"]
        assert u["PartOf"] == ["amarre.target"] and u["WantedBy"] == ["amarre.target"]
        assert u["NoNewPrivileges"] == ["yes"]
        # A user unit: no User=, no StateDirectory= (systemd 252 would put it in ~/.config),
        # nothing that needs a user namespace (it would hide the user's groups from agents).
        for absent in ("User", "StateDirectory", "ProtectSystem", "ProtectHome", "PrivateTmp"):
            assert absent not in u, absent
    assert host["ExecStart"] == [f"{t.prefix}/bin/amarre-host"]
    assert host["KillMode"] == ["mixed"] and host["KillSignal"] == ["SIGTERM"]
    assert api["ExecStart"] == [f"{t.prefix}/bin/amarre-api"]
    assert nginx["ExecStartPre"] == [f"{t.prefix}/scripts/render-nginx --www {t.prefix}/www --journal"]
    assert nginx["ExecStart"][0].endswith(" -p ${AMARRE_STATE_DIR}/nginx/ -c ${AMARRE_STATE_DIR}/nginx/nginx.conf -e stderr")
    assert nginx["KillSignal"] == ["SIGQUIT"] and nginx["LimitNOFILE"] == ["65536"]
    target = unit_settings(t.unit_dir / "amarre.target")
    assert target["WantedBy"] == ["default.target"]


def test_systemd_analyze_verify_passes_on_the_user_units(user_install):
    r = verify(user_install.unit_dir, user=True, runtime=user_install.runtime)
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr


def test_the_installed_tree_runs_as_its_units_say(user_install):
    """amarre-host, amarre-api and nginx started from the units' own lines (no systemd):
    the page, REST, a WebSocket, and the pi gate found in the installed resource bundle."""
    t = user_install
    port = free_port()
    pi_argv = t.root / "pi-argv"
    fake_pi = t.root / "fake-pi"
    fake_pi.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {pi_argv}\nexec cat >/dev/null\n")
    fake_pi.chmod(0o755)
    overrides = {"AMARRE_PORT": str(port), "AMARRE_HOST": "127.0.0.1", "AMARRE_AUTH": "none",
                 "AMARRE_INSTANCES_JSON": '[{"id":"demo","agent":"demo"},'
                                          f'{{"id":"pi","agent":"pi","command":["{fake_pi}"]}}]'}
    procs: list[subprocess.Popen] = []
    logs = t.root / "run-logs"
    logs.mkdir(exist_ok=True)

    def unit_env(name):
        u = unit_settings(t.unit_dir / name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AMARRE_")}
        for line in u.get("Environment", []):
            k, v = line.split("=", 1)
            env[k] = v
        for line in t.env_file.read_text().splitlines():
            if line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = v
        env.update(overrides)
        return u, env

    def expand(cmd, env):
        return re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], cmd).split()

    try:
        for name in ("amarre-host.service", "amarre-api.service", "amarre-nginx.service"):
            u, env = unit_env(name)
            for pre in u.get("ExecStartPre", []):
                r = subprocess.run(expand(pre, env), env=env, capture_output=True, text=True, timeout=60)
                assert r.returncode == 0, r.stderr
            log = open(logs / f"{name}.log", "ab")
            procs.append(subprocess.Popen(expand(u["ExecStart"][0], env), env=env, stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=log, start_new_session=True))
            log.close()
        wait_for(lambda: _ok(port, "/healthz"), timeout=30, what="the installed stack's /healthz")
        page = http_request(port, "GET", "/")
        assert page.status == 200 and page.text == (REPO / "www" / "index.html").read_text()
        created = http_request(port, "POST", "/sessions", {"instanceId": "demo"})
        assert created.status == 201, created
        with ws_connect(f"ws://127.0.0.1:{port}/sessions/{created.json['id']}", open_timeout=10) as ws:
            assert '"amarre.hello"' in ws.recv(timeout=10)
        pi = http_request(port, "POST", "/sessions", {"instanceId": "pi"})
        assert pi.status == 201, pi
        argv = wait_for(lambda: pi_argv.exists() and pi_argv.read_text().split("\n"), what="pi's argv")
        gate = argv[argv.index("-e") + 1]
        assert gate.startswith(f"{t.prefix}/bin/amarre_AmarreAgents.resources/"), gate
        assert Path(gate).is_file()
        # The services' state is where scripts/amarre looks for it.
        assert (t.state / "amarre" / "run" / "control.sock").is_socket()
        assert mode(t.state / "amarre") == 0o700
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGQUIT if "nginx" in str(p.args[0]) else signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _ok(port, path):
    try:
        return http_request(port, "GET", path, timeout=2).status == 200
    except OSError:
        return False


def test_install_again_keeps_the_environment_file(user_install):
    t = user_install
    with open(t.env_file, "a") as f:
        f.write("AMARRE_LOG_FORMAT=json\n")
    r = t.install()
    assert f"kept {t.env_file}" in r.stdout
    assert t.env_file.read_text().endswith("AMARRE_LOG_FORMAT=json\n")
    assert verify(t.unit_dir, user=True, runtime=t.runtime).returncode == 0


def test_uninstall_removes_what_install_put_there_and_keeps_the_state():
    t = Tree()
    try:
        t.install("--base-path", "amarre")
        assert "AMARRE_BASE_PATH=/amarre/\n" in t.env_file.read_text()
        (t.state / "amarre").mkdir(parents=True)
        (t.state / "amarre" / "amarre.sqlite").write_text("sessions")
        r = t.uninstall()
        assert not t.prefix.exists()
        assert list(t.unit_dir.iterdir()) == []
        assert not t.env_file.exists()
        assert (t.state / "amarre" / "amarre.sqlite").read_text() == "sessions"
        assert f"kept the state directory {t.state / 'amarre'}" in r.stdout
        # Nothing left to uninstall.
        r = run(["--user", "--prefix", str(t.prefix), "--uninstall", "--no-start"], t.env, check=False)
        assert r.returncode == 1 and "no amarre installation" in r.stderr
    finally:
        shutil.rmtree(t.root, ignore_errors=True)


def test_uninstall_keeps_an_environment_file_you_changed():
    t = Tree()
    try:
        t.install()
        with open(t.env_file, "a") as f:
            f.write("AMARRE_PORT=9999\n")
        r = t.uninstall()
        assert f"kept {t.env_file}: you changed it" in r.stdout
        assert t.env_file.read_text().endswith("AMARRE_PORT=9999\n")
        assert not t.prefix.exists()
    finally:
        shutil.rmtree(t.root, ignore_errors=True)


def test_a_prefix_that_is_not_amarres_is_refused():
    t = Tree()
    try:
        t.prefix.mkdir()
        (t.prefix / "precious").write_text("mine")
        r = t.install(check=False)
        assert r.returncode == 1 and "not an amarre installation" in r.stderr
        assert (t.prefix / "precious").read_text() == "mine"
    finally:
        shutil.rmtree(t.root, ignore_errors=True)


# -- --nginx=existing -------------------------------------------------------------------

def test_existing_nginx_gets_include_lines_and_no_nginx_unit():
    t = Tree()
    try:
        r = t.install("--nginx=existing", "--base-path", "/amarre/")
        state = t.state / "amarre"
        assert f"    include {state}/nginx/amarre-http.conf;\n" in r.stdout
        assert f"    include {state}/nginx/amarre-locations.conf;\n" in r.stdout
        assert sorted(p.name for p in t.unit_dir.iterdir()) == sorted(u for u in UNITS if u != "amarre-nginx.service")
        locations = (state / "nginx" / "amarre-locations.conf").read_text()
        assert "location ^~ /amarre/sessions/ {" in locations and "location ^~ / {" not in locations
        assert f"alias {t.prefix}/www/;" in locations
        r = verify(t.unit_dir, user=True, runtime=t.runtime)
        assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr
        t.uninstall()
        assert not t.prefix.exists()
    finally:
        shutil.rmtree(t.root, ignore_errors=True)


# -- a system installation --------------------------------------------------------------

def _a_login_user() -> str:
    for p in pwd.getpwall():
        if 1000 <= p.pw_uid < 65534:
            return p.pw_name
    return "root"


@pytest.mark.skipif(os.geteuid() != 0, reason="--system needs root")
def test_system_units_verify_and_uninstall():
    root = Path(tempfile.mkdtemp(prefix="amarre-inst-", dir="/tmp"))
    user = _a_login_user()
    args = ["--system", "--prefix", str(root / "prefix"), "--unit-dir", str(root / "units"),
            "--config-dir", str(root / "etc")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMARRE_")}
    try:
        run([*args, "--bin-dir", str(BIN_DIR), "--run-as", user, "--no-start"], env)
        units = root / "units"
        assert sorted(p.name for p in units.iterdir()) == sorted(UNITS)
        host = unit_settings(units / "amarre-host.service")
        nginx = unit_settings(units / "amarre-nginx.service")
        group = subprocess.run(["id", "-gn", user], capture_output=True, text=True).stdout.strip()
        for u in (host, nginx, unit_settings(units / "amarre-api.service")):
            assert u["User"] == [user] and u["Group"] == [group]
            assert u["StateDirectory"] == ["amarre"] and u["StateDirectoryMode"] == ["0700"]
            assert u["Environment"] == ["AMARRE_STATE_DIR=%S/amarre"]
            assert "ProtectHome" not in u or u is nginx
        assert host["ProtectSystem"] == ["full"] and "PrivateTmp" not in host
        assert nginx["ProtectSystem"] == ["strict"] and nginx["ProtectHome"] == ["read-only"]
        assert unit_settings(units / "amarre.target")["WantedBy"] == ["multi-user.target"]
        # A system installation does not copy root's PATH for the agents.
        assert not [l for l in (root / "etc" / "amarre.env").read_text().splitlines() if l.startswith("PATH=")]
        r = verify(units, user=False, runtime=root)
        assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr
        r = run([*args, "--uninstall", "--no-start"], env)
        assert list(units.iterdir()) == [] and not (root / "prefix").exists()
        # Kept, or (here, where the services never ran) never made.
        assert re.search(r"(kept the state directory|no state directory at) /var/lib/amarre\b", r.stdout), r.stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- what --uninstall trusts ------------------------------------------------------------

def _manifest_lines(t: Tree) -> list[str]:
    return (t.prefix / ".amarre-install").read_text().splitlines()


def _installed_files(t: Tree) -> dict[str, bytes]:
    files = [p for p in t.prefix.rglob("*") if p.is_file()] + list(t.unit_dir.iterdir()) + [t.env_file]
    return {str(p): p.read_bytes() for p in files}


@pytest.mark.parametrize("entry", ["unit {victim}", "unit {unit_dir}/other.service", "unit {unit_dir}/amarre-evil.service",
                                   "tmpfiles {victim}", "env {victim} {sha}", "env {env_file} not-a-checksum",
                                   "state /tmp/x\x1b[2J", "remove {victim}", "unit  {victim}"])
def test_uninstall_refuses_a_manifest_that_lists_other_files(entry):
    """A manifest edited to name anything but amarre's own units, environment file and tmpfiles.d
    entry makes --uninstall refuse, with the line, before it removes anything."""
    t = Tree()
    try:
        t.install()
        victim = t.root / "victim"
        victim.write_text("not amarre's")
        (t.unit_dir / "other.service").write_text("[Unit]\n")
        (t.unit_dir / "amarre-evil.service").write_text("[Unit]\n")
        manifest = t.prefix / ".amarre-install"
        good = manifest.read_text()
        import hashlib
        line = entry.format(victim=victim, unit_dir=t.unit_dir, env_file=t.env_file,
                            sha=hashlib.sha256(victim.read_bytes()).hexdigest())
        manifest.write_text(good + line + "\n")
        before = _installed_files(t)
        r = run(["--user", "--prefix", str(t.prefix), "--uninstall", "--no-start"], t.env, check=False)
        assert r.returncode == 1, (r.stdout, r.stderr)
        n = len(good.splitlines()) + 1
        assert f"refusing to uninstall: {manifest} line {n}:" in r.stderr and "nothing removed" in r.stderr, r.stderr
        assert "removed" not in r.stdout, r.stdout
        assert victim.read_text() == "not amarre's"
        assert (t.unit_dir / "other.service").exists() and (t.unit_dir / "amarre-evil.service").exists()
        assert _installed_files(t) == {**before, str(manifest): manifest.read_bytes()}
        # The manifest as install wrote it: uninstalled, and the strangers stay.
        manifest.write_text(good)
        t.uninstall()
        assert not t.prefix.exists() and victim.exists()
        assert sorted(p.name for p in t.unit_dir.iterdir()) == ["amarre-evil.service", "other.service"]
    finally:
        shutil.rmtree(t.root, ignore_errors=True)


def test_uninstall_wants_the_unit_and_config_directories_the_install_used():
    t = Tree()
    try:
        units, config = t.root / "units", t.root / "etc"
        t.install("--unit-dir", str(units), "--config-dir", str(config))
        r = run(["--user", "--prefix", str(t.prefix), "--uninstall", "--no-start"], t.env, check=False)
        assert r.returncode == 1 and "installed with --unit-dir? pass the same" in r.stderr, r.stderr
        assert sorted(p.name for p in units.iterdir()) == sorted(UNITS)
        run(["--user", "--prefix", str(t.prefix), "--uninstall", "--no-start", "--unit-dir", str(units),
             "--config-dir", str(config)], t.env)
        assert list(units.iterdir()) == [] and not (config / "amarre.env").exists() and not t.prefix.exists()
    finally:
        shutil.rmtree(t.root, ignore_errors=True)


def test_existing_nginx_removes_only_an_nginx_unit_the_manifest_lists():
    t = Tree()
    try:
        # Someone else's amarre-nginx.service: kept, with a warning.
        t.unit_dir.mkdir(parents=True)
        (t.unit_dir / "amarre-nginx.service").write_text("mine\n")
        r = t.install("--nginx=existing")
        assert (t.unit_dir / "amarre-nginx.service").read_text() == "mine\n"
        assert "kept" in r.stderr and "amarre-nginx.service" in r.stderr, r.stderr
        assert f"unit {t.unit_dir}/amarre-nginx.service" not in _manifest_lines(t)
        t.uninstall()
        assert (t.unit_dir / "amarre-nginx.service").read_text() == "mine\n"
        (t.unit_dir / "amarre-nginx.service").unlink()
        # An earlier --nginx=own installation's: removed.
        t.install()
        assert f"unit {t.unit_dir}/amarre-nginx.service" in _manifest_lines(t)
        t.install("--nginx=existing")
        assert not (t.unit_dir / "amarre-nginx.service").exists()
        assert f"unit {t.unit_dir}/amarre-nginx.service" not in _manifest_lines(t)
    finally:
        shutil.rmtree(t.root, ignore_errors=True)


# -- --socket-dir, --socket-group -------------------------------------------------------

@pytest.mark.parametrize("args,words", [(["--socket-dir", "/run/amarre%i"], "--socket-dir"),
                                        (["--socket-dir", "/run/amarre sockets"], "--socket-dir"),
                                        (["--socket-dir", "/run/amarre\nx"], "--socket-dir"),
                                        (["--socket-dir", "/run/$HOME"], "--socket-dir"),
                                        (["--socket-group", "no-such-group-here"], "no such group"),
                                        (["--socket-group", "-x"], "no such group")])
def test_socket_dir_and_group_are_checked_before_anything_is_written(args, words):
    t = Tree()
    try:
        r = t.install("--nginx=existing", *args, check=False)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert words in r.stderr, r.stderr
        assert not t.prefix.exists() and not t.config.exists()
    finally:
        shutil.rmtree(t.root, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="--system needs root")
def test_system_prefix_is_roots_and_uninstall_refuses_what_others_may_write():
    root = Path(tempfile.mkdtemp(prefix="amarre-inst-", dir="/tmp"))
    user = _a_login_user()
    other = pwd.getpwnam("nobody").pw_uid
    prefix = root / "prefix"
    args = ["--system", "--prefix", str(prefix), "--unit-dir", str(root / "units"), "--config-dir", str(root / "etc")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMARRE_")}
    try:
        # An empty prefix another user made is accepted, and becomes root's.
        prefix.mkdir(mode=0o777)
        os.chown(prefix, other, other)
        os.chmod(prefix, 0o777)
        run([*args, "--bin-dir", str(BIN_DIR), "--run-as", user, "--no-start"], env)
        st = prefix.stat()
        assert (st.st_uid, st.st_gid, mode(prefix)) == (0, 0, 0o755)
        manifest = prefix / ".amarre-install"
        assert manifest.stat().st_uid == 0 and mode(manifest) & 0o022 == 0
        for path, change, undo in [
                (manifest, lambda p: os.chown(p, other, -1), lambda p: os.chown(p, 0, -1)),
                (manifest, lambda p: os.chmod(p, 0o664), lambda p: os.chmod(p, 0o644)),
                (manifest, lambda p: os.chmod(p, 0o646), lambda p: os.chmod(p, 0o644)),
                (prefix, lambda p: os.chown(p, other, -1), lambda p: os.chown(p, 0, -1)),
                (prefix, lambda p: os.chmod(p, 0o775), lambda p: os.chmod(p, 0o755)),
                (prefix, lambda p: os.chmod(p, 0o757), lambda p: os.chmod(p, 0o755))]:
            change(path)
            r = run([*args, "--uninstall", "--no-start"], env, check=False)
            undo(path)
            assert r.returncode == 1 and "refusing to uninstall" in r.stderr and str(path) in r.stderr, r.stderr
            assert sorted(p.name for p in (root / "units").iterdir()) == sorted(UNITS)
            assert manifest.exists() and (prefix / "bin" / "amarre-host").exists()
        # A manifest symlinked from elsewhere.
        real = root / "manifest"
        manifest.rename(real)
        manifest.symlink_to(real)
        r = run([*args, "--uninstall", "--no-start"], env, check=False)
        assert r.returncode == 1 and "symbolic link" in r.stderr, r.stderr
        manifest.unlink()
        real.rename(manifest)
        run([*args, "--uninstall", "--no-start"], env)
        assert list((root / "units").iterdir()) == [] and not prefix.exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)
