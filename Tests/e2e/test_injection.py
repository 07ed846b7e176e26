"""sqlmap (Debian) against every endpoint that takes search filters or identifiers, as a signed-in
owner: it must find nothing. The rate limits are lifted for this server, or sqlmap would mostly
see 429s and prove nothing."""
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from harness import API, UNLIMITED, Server


@pytest.fixture
def open_server():
    running = Server(env=UNLIMITED)
    yield running
    running.stop()


def sqlmap(url: str, output: Path, *, headers: list[str], data: str | None = None) -> str:
    command = ["sqlmap", "-u", url, "--batch", "--disable-coloring", "--output-dir", str(output), "--level", "2", "--risk", "1",
               "--time-sec", "1", "--threads", "4", "--answers", "follow=N", "--skip-waf", "--ignore-code", "404,403"]
    for header in headers:
        command += ["--header", header]
    if data:
        command += ["--data", data]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    return result.stdout + result.stderr


def test_sqlmap_finds_no_injection(open_server):
    owner = API(open_server, open_server.owner_email, open_server.owner_password)
    site = owner.create("/v1/sites", {"name": "Shop", "allowedOrigins": ["https://shop.example"]})
    department = owner.create("/v1/departments", {"name": "Sales"})
    base = open_server.url
    some = str(uuid.uuid4())
    targets = [
        (f"{base}/v1/conversations?view=history&state=closed&site={site['id']}&department={department['id']}&agent={owner.agent['id']}"
         f"&from=1&to=99999999999999&before=99999999999999&limit=10", None),
        # `*` marks an identifier in the path as the place to inject.
        (f"{base}/v1/conversations/{some}*", None),
        (f"{base}/v1/conversations/{some}*/transcript", None),
        (f"{base}/v1/audit?action=auth.login&before=99999999999999&limit=5", None),
        (f"{base}/v1/reports/conversations?from=1&to=99999999999999", None),
        (f"{base}/v1/sites/{site['id']}*/blocklist", None),
        (f"{base}/v1/widget/config?site={site['widgetKey']}", None),
        (f"{base}/v1/visitor/sessions", '{"siteKey":"' + site["widgetKey"] + '"}'),
    ]
    output = Path(tempfile.mkdtemp(prefix="confidant-sqlmap-"))
    try:
        headers = [f"Cookie: {owner.cookie}", f"X-CSRF-Token: {owner.csrf}"]
        for url, data in targets:
            log = sqlmap(url, output, headers=headers, data=data)
            assert "all tested parameters do not appear to be injectable" in log or "does not seem to be injectable" in log, log[-3000:]
            for finding in ["is vulnerable", "identified the following injection point", "appears to be injectable"]:
                assert finding not in log, log[-3000:]
        findings = [path for path in output.rglob("log") if path.stat().st_size > 0]
        assert not findings, "sqlmap logged findings: " + "\n".join(path.read_text()[:2000] for path in findings)
    finally:
        shutil.rmtree(output, ignore_errors=True)
