"""With no instance configured, the demo agent is offered and works end to end through nginx."""
from conftest import stack_fixture

unconfigured = stack_fixture(env={"PI_BIN": "/nonexistent/pi", "CLAUDE_BIN": "/nonexistent/claude",
                                  "AMARRE_DEMO_SPEED": "100"})


def test_without_configuration_only_the_demo_instance_is_offered(unconfigured):
    r = unconfigured.get("/instances")
    assert r.status == 200
    assert [(i["id"], i["agent"]) for i in r.json] == [("demo", "demo")]


def test_demo_agent_streams_a_reply_to_a_prompt_through_nginx(unconfigured):
    s = unconfigured.create()
    assert (s["instanceId"], s["agent"]) == ("demo", "demo")
    c = unconfigured.ws(s["id"])
    try:
        c.send({"type": "prompt", "message": "hello there", "id": "p1"})
        records = c.recv_until("agent_end", timeout=30)
        types = [r.get("type") for r in records]
        assert "agent_start" in types
        deltas = [r["assistantMessageEvent"].get("delta", "") for r in records
                  if r.get("type") == "message_update"
                  and r.get("assistantMessageEvent", {}).get("type") == "text_delta"]
        assert deltas and "".join(deltas).strip(), records
        assert types.index("agent_start") < types.index("agent_end")
    finally:
        c.close()
        unconfigured.delete(f"/sessions/{s['id']}")
