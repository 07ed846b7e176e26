"""schemathesis (PyPI) runs every check it has (`--checks all`) against docs/openapi.yaml and a live
server: once as an anonymous caller, once as a signed-in agent. Both must pass: no server error, only
documented statuses, content types and bodies, invalid input refused, valid input accepted,
authentication never ignored, and 405 with `Allow` for a method a path does not serve.

The server holds real data first (a site, a department, a canned response, a conversation with a
message, an offline message), and the agent run is pointed at it, so that reads and the ban reach
the code behind the 404s."""
import json
import os
import sys
import subprocess
import tempfile
from pathlib import Path

import pytest
import websocket

from harness import API, ROOT, UNLIMITED, Server

SCHEMA = ROOT / "docs" / "openapi.yaml"
SCHEMATHESIS = Path(os.environ.get("CONFIDANT_SCHEMATHESIS", Path(sys.executable).parent / "schemathesis"))


@pytest.fixture
def open_server():
    running = Server(env=UNLIMITED)
    yield running
    running.stop()


def schemathesis(server: Server, config: str, *extra: str) -> str:
    """One run; returns its output, failing the test on any finding."""
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as file:
        file.write(config)
    try:
        result = subprocess.run(
            [str(SCHEMATHESIS), "--config-file", file.name, "run", str(SCHEMA), "--url", server.url, "--checks", "all",
             "--max-examples", "40", "--workers", "2", "--seed", "20261122", "--no-color", "--output-truncate", "false", *extra],
            capture_output=True, text=True, timeout=900, cwd=tempfile.gettempdir(),
        )
    finally:
        os.unlink(file.name)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert " passed" in output and "Failures:" not in output, output[-6000:]
    return output


def socket(server: Server, path: str, cookie: str | None = None) -> websocket.WebSocket:
    ws_url = server.url.replace("http", "ws", 1) + path
    return websocket.create_connection(ws_url, origin=server.url, cookie=cookie, timeout=10)


def exchange(sock: websocket.WebSocket, frame: dict, answer: str) -> dict:
    """Sends a frame and reads frames until the one of type `answer` (others are pushes)."""
    sock.send(json.dumps(frame))
    while True:
        reply = json.loads(sock.recv())
        assert reply["type"] != "error", reply
        if reply["type"] == answer:
            return reply


def seeded(server: Server) -> dict:
    """Real data for the agent to reach, and the agent's signed-in session."""
    owner = API(server, server.owner_email, server.owner_password)
    site = owner.create("/v1/sites", {"name": "Shop", "allowedOrigins": ["https://shop.example"]})
    department = owner.create("/v1/departments", {"name": "Support"})
    owner.create("/v1/canned-responses", {"shortcut": "hello", "body": "Hello, how can I help?", "departmentId": department["id"]})
    owner.create("/v1/agents", {"email": "ada@example.com", "displayName": "Ada Agent", "password": "first-Password-9138", "departments": [department["id"]]})
    agent = API(server, "ada@example.com", "first-Password-9138")
    status, body, headers = agent.call("POST", "/v1/auth/password", {"currentPassword": "first-Password-9138", "newPassword": "Ada-chooses-Her-own-7731"})
    assert status == 200 and body["stage"] == "complete", body
    agent.cookie, agent.csrf = headers["Set-Cookie"].split(";")[0], body["csrfToken"]

    staff_socket = socket(server, "/v1/ws/agent", cookie=agent.cookie)
    exchange(staff_socket, {"type": "hello", "protocol": 1}, "welcome")
    exchange(staff_socket, {"type": "availability.set", "ref": "a", "availability": "available"}, "ok")
    status, visitor, _ = API(server).call("POST", "/v1/visitor/sessions", {"siteKey": site["widgetKey"]})
    assert status == 201, visitor
    visitor_socket = socket(server, "/v1/ws/visitor")
    exchange(visitor_socket, {"type": "hello", "protocol": 1, "token": visitor["token"]}, "welcome")
    opened = exchange(visitor_socket, {"type": "conversation.open", "ref": "o", "departmentId": department["id"], "name": "Vera"}, "conversation.opened")
    conversation = opened["conversation"]["id"]
    exchange(visitor_socket, {"type": "message.send", "ref": "m", "conversationId": conversation, "clientId": "v-1", "body": "Where is my order?"},
             "message.ack")
    offline = exchange(visitor_socket, {"type": "offline.leave", "ref": "l", "clientId": "off-1", "body": "Call me back, please.",
                                        "departmentId": department["id"], "form": {"honeypot": "", "fillMs": 5000}}, "offline.ack")
    visitor_socket.close()
    staff_socket.close()
    return {"agent": agent, "site": site, "conversation": conversation, "offline": offline["id"]}


def test_schemathesis_passes_for_an_anonymous_caller(open_server):
    output = schemathesis(open_server, "")
    # Every operation ran; staff operations refused the caller.
    assert "Selected: 58/58" in output, output[-3000:]


def test_schemathesis_passes_for_a_signed_in_agent(open_server):
    data = seeded(open_server)
    agent = data["agent"]
    config = f"""
[auth.openapi.session]
api_key = "{agent.cookie.split("=", 1)[1]}"
[auth.openapi.csrf]
api_key = "{agent.csrf}"

[[operations]]
include-operation-id = "widgetConfig"
parameters = {{ site = "{data["site"]["widgetKey"]}" }}

[[operations]]
include-path-regex = "^/v1/conversations/[{{]id[}}]"
parameters = {{ id = "{data["conversation"]}" }}

[[operations]]
include-operation-id = "markOfflineMessageHandled"
parameters = {{ id = "{data["offline"]}" }}
"""
    # Signing out and revoking one's own session would end the session the run uses; the
    # anonymous run and SignInTests cover both.
    output = schemathesis(open_server, config, "--exclude-operation-id", "logout", "--exclude-operation-id", "revokeOwnSession")
    assert "Selected: 56/58" in output, output[-3000:]
    # The seeded conversation is the agent's to read, so the run's reads of it were not refusals.
    status, transcript, _ = agent.call("GET", f"/v1/conversations/{data['conversation']}/transcript")
    assert status == 200 and transcript["entries"], transcript
