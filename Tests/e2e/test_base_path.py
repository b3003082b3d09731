"""amarre under a base path (AMARRE_BASE_PATH=/amarre/) inside another site's nginx server.

The nginx here is not the standalone nginx.conf: it is "your own" nginx, several workers, whose
server block has its own `location /` (a static site), its own `location /sessions-admin`, a
regex location of its own, and includes amarre's rendered amarre-locations.conf (and
amarre-http.conf at http level). Both sites must work side by side:

- the other site keeps /, /sessions-admin, /sessions (a file of its own) and its regex;
- amarre serves its page, REST and WebSockets under /amarre/, with the prefix stripped before
  amarre-api and amarre-host see the request (they route on /sessions/...);
- amarre's routes match exactly: /amarre/sessions-admin and /amarre/sessionsX are not session
  routes. They fall to amarre's static location under /amarre/ and are nginx 404s (never the
  other site's pages, never amarre-api): the base path is amarre's, all of it.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BIN_DIR, REPO, Stack, command_instance, free_port, http_request, wait_for
from wsraw import RawWebSocket

BASE = "/amarre/"
PREFIX = BASE.rstrip("/")
OTHER_INDEX = "<html><body>the other site</body></html>\n"
WORKERS = 2
# Several nginx workers with kept-alive FastCGI: workers x keepalive (2 x 16) idle connections
# far more than amarre-api's threads, which idle connections never hold.
API_THREADS = 2


class SiteStack(Stack):
    """amarre-host + amarre-api with AMARRE_BASE_PATH, behind an nginx of "another site"."""

    def start(self) -> "SiteStack":
        for name in ("amarre-host", "amarre-api"):
            if not (BIN_DIR / name).exists():
                pytest.fail(f"{BIN_DIR / name} does not exist: build first or set AMARRE_BIN_DIR")
        self.dir = Path(tempfile.mkdtemp(prefix="amarre-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.log_dir.mkdir()
        self.port = free_port()
        env = self.env
        render = subprocess.run(
            [str(REPO / "scripts" / "render-nginx"), "--state-dir", str(self.dir), "--port", str(self.port),
             "--host", "127.0.0.1", "--www", str(REPO / "www"), "--nginx-workers", str(WORKERS)],
            env=env, capture_output=True, text=True, timeout=30)
        (self.log_dir / "render-nginx.log").write_text(render.stdout + render.stderr)
        if render.returncode != 0:
            raise RuntimeError(f"render-nginx failed ({render.returncode}): {render.stderr}")
        self.site_conf = self._write_site()
        self._start_processes(env)
        return self

    def _write_site(self):
        d = self.dir
        site = d / "othersite"
        site.mkdir()
        (site / "index.html").write_text(OTHER_INDEX)
        (site / "sessions").write_text("the other site's /sessions\n")
        (site / "sessionsX").write_text("the other site's /sessionsX\n")
        user = "user root;" if os.geteuid() == 0 else ""
        conf = f"""
{user}
daemon off;
master_process on;
worker_processes {WORKERS};
pid {d}/nginx/site.pid;
error_log {d}/log/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {d}/nginx/client_body_temp;
    proxy_temp_path       {d}/nginx/proxy_temp;
    fastcgi_temp_path     {d}/nginx/fastcgi_temp;
    uwsgi_temp_path       {d}/nginx/uwsgi_temp;
    scgi_temp_path        {d}/nginx/scgi_temp;
    default_type application/octet-stream;

    include {d}/nginx/amarre-http.conf;
    access_log {d}/log/nginx-access.log amarre;

    server {{
        listen 127.0.0.1:{self.port};
        server_name _;
        root {site};

        # The other site's own locations.
        location / {{
            index index.html;
            default_type text/plain;
            try_files $uri $uri/ =404;
        }}
        location /sessions-admin {{
            default_type text/plain;
            return 200 "the other site's /sessions-admin\\n";
        }}
        location ~ \\.js$ {{
            default_type text/plain;
            return 200 "the other site's regex\\n";
        }}

        include {d}/nginx/amarre-locations.conf;
    }}
}}
"""
        path = d / "nginx" / "site.conf"
        path.write_text(conf)
        check = subprocess.run(["nginx", "-t", "-q", "-p", f"{d}/nginx/", "-c", str(path),
                                "-e", f"{d}/log/nginx-error.log"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        return path

    def _start_processes(self, env):
        self._spawn("host", [str(BIN_DIR / "amarre-host")], env)
        self._spawn("api", [str(BIN_DIR / "amarre-api")], env)
        self._spawn("nginx", ["nginx", "-p", f"{self.dir}/nginx/", "-c", str(self.site_conf),
                              "-e", f"{self.log_dir}/nginx-error.log"], env)
        try:
            wait_for(self._ready, timeout=30, what=f"{self.label}: GET {BASE}healthz == 200")
        except AssertionError as e:
            raise RuntimeError(f"{e}\n{self.log_tail()}") from None

    def save_logs(self, dest):
        super().save_logs(dest)
        for name in ("site.conf", "amarre-locations.conf", "amarre-http.conf"):
            f = self.dir / "nginx" / name
            if f.exists():
                (dest / name).write_bytes(f.read_bytes())

    # Everything amarre is under the base path; `site()` reaches the other site.
    def request(self, method, path, body=None, **kw):
        assert path.startswith("/")
        return http_request(self.port, method, PREFIX + path, body, **kw)

    def site(self, method, path, body=None, **kw):
        return http_request(self.port, method, path, body, **kw)

    def ws_url(self, sid):
        return f"ws://127.0.0.1:{self.port}{BASE}sessions/{sid}"

    def raw_ws(self, path, **kw):
        return super().raw_ws(PREFIX + path, **kw)

    def site_ws_status(self, path):
        ws = RawWebSocket.open("127.0.0.1", self.port, path)
        ws.sock.close()
        return ws.handshake.status


def _site_stack(request, env):
    s = SiteStack(env={"AMARRE_BASE_PATH": BASE, "AMARRE_API_THREADS": str(API_THREADS), **env},
                  instances=[command_instance("cat", ["cat"])], label=request.node.name)
    s.start()
    yield s
    problems = s.stop()
    s.remove()
    assert not problems, "; ".join(problems)


@pytest.fixture(scope="module")
def site(request):
    yield from _site_stack(request, {})


@pytest.fixture(scope="module")
def auth_site(request):
    yield from _site_stack(request, {"AMARRE_AUTH": "token"})


@pytest.fixture
def cat_session(site):
    sid = site.create("cat")["id"]
    yield sid
    site.delete(f"/sessions/{sid}")


# -- the rendered files ------------------------------------------------------------------

def test_the_snippet_declares_no_location_slash_and_only_exact_routes(site):
    text = (site.dir / "nginx" / "amarre-locations.conf").read_text()
    locations = re.findall(r"^\s*location\s+([^{]+?)\s*\{", text, re.M)
    assert "/" not in [l.split()[-1] for l in locations]
    assert all(l.startswith("@") or BASE.rstrip("/") in l for l in locations), locations
    for exact in ("sessions", "instances", "search", "healthz", "metrics", "openapi.json"):
        assert f"= {BASE}{exact}" in locations, exact
    for prefix in ("sessions/", "auth/", "push/"):
        assert f"^~ {BASE}{prefix}" in locations, prefix
    http = (site.dir / "nginx" / "amarre-http.conf").read_text()
    assert re.search(r"upstream amarre_api \{[^}]*keepalive 16;[^}]*keepalive_timeout 5s;", http), http


# -- the other site is untouched --------------------------------------------------------

def test_the_other_site_keeps_its_root_its_sessions_admin_and_its_regex(site):
    r = site.site("GET", "/")
    assert (r.status, r.text) == (200, OTHER_INDEX)
    r = site.site("GET", "/sessions-admin")
    assert (r.status, r.text) == (200, "the other site's /sessions-admin\n")
    r = site.site("GET", "/sessions-admin/users")
    assert (r.status, r.text) == (200, "the other site's /sessions-admin\n")
    for path in ("/sessions", "/sessionsX"):
        r = site.site("GET", path)
        assert (r.status, r.text) == (200, f"the other site's {path}\n"), path
    r = site.site("GET", "/other.js")
    assert (r.status, r.text) == (200, "the other site's regex\n")
    assert site.site("GET", "/healthz").status == 404
    assert site.site("GET", "/nope").status == 404


# -- amarre under /amarre/ --------------------------------------------------------------

def test_the_base_path_without_slash_redirects_to_the_page(site):
    r = site.site("GET", PREFIX)
    assert r.status == 301 and r.headers["location"] == BASE


def test_the_page_and_its_files_are_served_under_the_base_path(site):
    r = site.site("GET", BASE)
    assert r.status == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text == (REPO / "www" / "index.html").read_text()
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    # amarre's ^~ location wins over the other site's regex for .js
    r = site.site("GET", f"{BASE}app.js")
    assert r.status == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.text == (REPO / "www" / "app.js").read_text()
    assert site.site("GET", f"{BASE}no-such-file.js").status == 404


def test_openapi_json_is_served_under_the_base_path(site):
    r = site.site("GET", f"{BASE}openapi.json")
    assert r.status == 200 and r.headers["content-type"].startswith("application/json")
    assert json.loads(r.text)["openapi"].startswith("3.1")


def test_rest_works_under_the_base_path_with_the_prefix_stripped(site, cat_session):
    assert site.get("/healthz").status == 200
    assert [i["id"] for i in site.get("/instances").json] == ["cat"]
    listed = site.get("/sessions")
    assert listed.status == 200 and cat_session in [s["id"] for s in listed.json]
    assert site.get(f"/sessions/{cat_session}").json["id"] == cat_session
    # The trailing slash form reaches amarre-api too (one trailing slash is accepted there).
    assert site.get("/sessions/").status == 200
    # Unknown API paths under an API prefix get amarre-api's JSON 404.
    r = site.get("/sessions/000000000000")
    assert (r.status, r.json) == (404, {"error": "not_found"})


def test_websocket_works_under_the_base_path(site, cat_session):
    ws = site.ws(cat_session)
    try:
        hello = ws.recv_record("amarre.hello")
        assert hello["type"] == "amarre.hello"
        ws.send({"type": "e2e.ping", "n": 1})
        assert ws.recv_record() == {"type": "e2e.ping", "n": 1}
        site.wait_clients(cat_session, 1)
    finally:
        ws.close()


def test_sessions_admin_and_sessionsx_under_the_base_path_are_not_session_routes(site):
    for path in ("/sessions-admin", "/sessionsX", "/sessions-admin/x", "/healthzX", "/instances/x"):
        r = site.get(path)
        assert r.status == 404, (path, r)
        assert "other site" not in r.text, path
        # nginx's own 404 (static location), not amarre-api's JSON one
        assert not r.text.startswith("{"), (path, r.text)


def test_websocket_upgrades_elsewhere_are_refused(site, cat_session):
    assert site.site_ws_status(BASE) == 426
    for path in (f"{BASE}sessions-admin", f"{BASE}sessions", f"{BASE}healthz", f"{BASE}app.js",
                 f"{BASE}sessions/{cat_session}/prompt", f"{BASE}openapi.json"):
        assert site.site_ws_status(path) == 404, path
    # The other site's paths never reach amarre-host.
    assert site.site_ws_status(f"/sessions/{cat_session}") != 101


def test_prompt_takes_16_mib_bodies_and_other_routes_1_mib(site, cat_session):
    big = json.dumps({"message": "x" * (2 << 20)}).encode()
    r = site.request("POST", f"/sessions/{cat_session}/prompt", raw=big,
                     headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status != 413 and r.status < 500, r
    huge = b'{"message":"' + b"x" * (17 << 20) + b'"}'
    r = site.request("POST", f"/sessions/{cat_session}/prompt", raw=huge,
                     headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status == 413 and r.json == {"error": "payload_too_large", "detail": "request body over 16 MiB"}
    for path in ("/sessions", f"/sessions/{cat_session}/abort"):
        r = site.request("POST", path, raw=big, headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status == 413 and r.json["detail"] == "request body over 1 MiB", (path, r)


def test_the_request_id_is_logged_by_nginx_and_answered_by_amarre_api(site):
    # nginx's own id, whatever the client sent.
    r = site.get("/healthz", headers={"X-Request-Id": "chosen-by-the-client"})
    rid = r.headers.get("x-request-id")
    assert rid and re.fullmatch(r"[0-9a-f]{32}", rid), r.headers
    log = site.log_dir / "nginx-access.log"
    wait_for(lambda: f"rid={rid}" in log.read_text(), what="the request id in nginx's access log")
    line = next(l for l in log.read_text().splitlines() if f"rid={rid}" in l)
    assert f'"GET {BASE}healthz HTTP/1.1" 200' in line


def test_many_requests_over_kept_alive_fastcgi_connections_from_several_workers(site):
    # More requests than threads, one after another and from several client connections:
    # nginx keeps more idle FastCGI connections than amarre-api has threads, and none pins one.
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: site.get("/healthz", timeout=5).status, range(200)))
    assert statuses == [200] * 200


def test_pairing_cookie_path_is_the_base_path(auth_site):
    answer = auth_site.control({"pairCreate": {"name": "e2e phone"}})
    code = answer["pairingCode"]["code"]
    r = auth_site.post("/auth/pair", {"code": code}, headers={"Origin": auth_site.origin})
    assert r.status == 200, r
    cookie = r.headers["set-cookie"]
    assert "; Path=/amarre/;" in cookie or cookie.endswith("; Path=/amarre/"), cookie
    value = re.match(r"amarre_auth=([^;]+)", cookie).group(1)
    # The cookie lets the browser in under the base path.
    assert auth_site.get("/sessions", headers={"Cookie": f"amarre_auth={value}"}).status == 200
    assert auth_site.get("/sessions").status == 401
