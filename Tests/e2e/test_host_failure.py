"""The API when the session host is gone, and what a host crash leaves behind."""
from conftest import agent, command_instance, is_alive, wait_for

INSTANCES = [command_instance("cat", ["cat"]), command_instance("echo", agent("echo.py")),
             command_instance("exiter", agent("exiter.py"))]


def test_healthz_is_503_host_down_when_the_host_is_gone(stack_factory):
    st = stack_factory(instances=INSTANCES)
    st.kill_host()
    r = wait_for(lambda: (r := st.get("/healthz")).status == 503 and r, what="healthz to report the host down")
    assert r.json["ok"] is False
    assert r.json["host"] == "down"


def test_rest_calls_are_503_host_unavailable_when_the_host_is_gone(stack_factory):
    st = stack_factory(instances=INSTANCES)
    sid = st.create("cat")["id"]
    st.kill_host()
    wait_for(lambda: st.get("/healthz").status == 503, what="healthz to report the host down")
    for method, path, body in [("GET", "/instances", None), ("GET", "/sessions", None),
                               ("POST", "/sessions", {"instanceId": "cat"}), ("GET", f"/sessions/{sid}", None),
                               ("DELETE", f"/sessions/{sid}", None), ("POST", f"/sessions/{sid}/restart", None)]:
        r = st.request(method, path, body)
        assert (r.status, r.json) == (503, {"error": "host_unavailable"}), f"{method} {path} -> {r}"


def test_sigkill_of_the_host_leaves_no_agent_alive(stack_factory):
    st = stack_factory(instances=INSTANCES)
    for instance in ("cat", "echo", "exiter", "echo"):
        st.create(instance)
    pids = wait_for(lambda: len(p := st.agent_pids()) >= 4 and p, what="four agents under the host")
    st.kill_host()
    wait_for(lambda: not [p for p in pids if is_alive(p)], timeout=10,
             what=f"agents {pids} to die with the host")
