"""schemathesis (PyPI) runs every check it has (`--checks all`) against docs/openapi.yaml and a live
server: once as an anonymous caller, once as a signed-in agent. Both must pass: no server error, only
documented statuses, content types and bodies, invalid input refused, valid input accepted,
authentication never ignored, and 405 with `Allow` for a method a path does not serve.

The server holds real data first (a site, a department, a canned response, a conversation with a
message, an offline message), and the agent run is pointed at it, so that reads and the ban reach
the code behind the 404s."""
import os
import sys
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from harness import ROOT, UNLIMITED, Server, seeded

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


def operations() -> int:
    """How many operations docs/openapi.yaml describes (OpenAPIDocumentTests keeps it equal to
    the router's)."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    paths = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))["paths"]
    return sum(1 for item in paths.values() for method in item if method in methods)


def test_schemathesis_passes_for_an_anonymous_caller(open_server):
    output = schemathesis(open_server, "")
    # Every operation ran; staff operations refused the caller.
    total = operations()
    assert f"Selected: {total}/{total}" in output, output[-3000:]


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
    total = operations()
    assert f"Selected: {total - 2}/{total}" in output, output[-3000:]
    # The seeded conversation is the agent's to read, so the run's reads of it were not refusals.
    status, transcript, _ = agent.call("GET", f"/v1/conversations/{data['conversation']}/transcript")
    assert status == 200 and transcript["entries"], transcript
