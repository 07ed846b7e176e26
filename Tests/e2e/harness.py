"""A running Confidant for browser tests: a real `confidant serve` process on 127.0.0.1, an HTTP
client for its API, and a host page on a second loopback origin (127.0.0.2) that embeds the widget."""
from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import websocket

ROOT = Path(__file__).resolve().parents[2]

# Server settings that lift the REST rate limits, for attack tools that send thousands of
# requests a minute (they would mostly see 429s and prove nothing).
UNLIMITED = {f"CONFIDANT_LIMITS_{rule}": "100000000/1s" for rule in ["REST_PER_STAFF", "REST_PER_ADDRESS", "SIGN_IN_PER_ADDRESS", "VISITOR_SESSIONS_PER_ADDRESS"]}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def binary() -> Path:
    explicit = os.environ.get("CONFIDANT_BINARY")
    return Path(explicit) if explicit else ROOT / ".build" / "debug" / "confidant"


class Server:
    """`confidant serve` in its own data directory, stopped by `stop()`."""

    def __init__(self, tls: dict | None = None, env: dict | None = None) -> None:
        """With `tls` ({"certificate", "key", "ca", "redirect_port"?}) the server terminates TLS itself;
        `env` adds settings (CONFIDANT_…)."""
        self.directory = Path(tempfile.mkdtemp(prefix="confidant-e2e-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Selenium fills a form in a few hundred milliseconds, faster than the default minimum
        # fill time lets a form through (a person takes longer): lower it for the browser tests.
        self.env = {**os.environ, "CONFIDANT_LIMITS_FORM_MINIMUM_FILL_MS": "100"}
        self.env.update(env or {})
        self.ssl_context = None
        if tls:
            self.url = f"https://localhost:{self.port}"
            self.env.update({"CONFIDANT_TLS_CERTIFICATE_FILE": tls["certificate"], "CONFIDANT_TLS_KEY_FILE": tls["key"]})
            if tls.get("redirect_port"):
                self.env["CONFIDANT_TLS_REDIRECT_HTTP_PORT"] = str(tls["redirect_port"])
            self.ssl_context = ssl.create_default_context(cafile=tls["ca"])
        self.owner_email = "owner@example.com"
        self.owner_password = "owner-password-" + uuid.uuid4().hex[:8]
        created = subprocess.run(
            [str(binary()), "admin", "create", "--email", self.owner_email, "--name", "Olga Owner", "--password-stdin", "--data-dir", str(self.directory)],
            input=self.owner_password + "\n", text=True, capture_output=True, env=self.env, check=False,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        self.log = open(self.directory / "server.log", "a")
        self.resume()

    def resume(self) -> None:
        """Starts the server process (again, after `pause`) and waits until it is ready."""
        self.process = subprocess.Popen(
            [str(binary()), "serve", "--port", str(self.port), "--public-url", self.url, "--data-dir", str(self.directory)],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.env,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1, context=self.ssl_context) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("confidant serve did not become ready:\n" + (self.directory / "server.log").read_text())

    def pause(self) -> None:
        """Stops the server process; its data stays for `resume`."""
        self.process.terminate()
        self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


class API:
    """The REST API with one staff session (the cookie and its CSRF token are kept in memory only),
    or without one when no e-mail is given."""

    def __init__(self, server: Server, email: str | None = None, password: str | None = None) -> None:
        self.server = server
        self.cookie = None
        self.csrf = None
        if email is None:
            return
        status, body, headers = self.call("POST", "/v1/auth/login", {"email": email, "password": password})
        assert status == 200, body
        self.cookie = headers["Set-Cookie"].split(";")[0]
        self.csrf = body["csrfToken"]
        self.agent = body["agent"]

    def call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.cookie:
            request.add_header("Cookie", self.cookie)
        if self.csrf and method != "GET":
            request.add_header("X-CSRF-Token", self.csrf)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None, response.headers
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None, error.headers

    def create(self, path: str, body: dict) -> dict:
        status, reply, _ = self.call("POST", path, body)
        assert status == 201, reply
        return reply


class HostPage:
    """A web page on http://127.0.0.2:PORT (another origin) that embeds the widget."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        self.pages: dict[str, str] = {}
        self.host = host
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                path = self.path.split("?")[0]
                body = pages.get(path)
                if body is None:
                    self.send_error(404)
                    return
                payload = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                # The host page itself forbids inline code: the loader must work under it.
                self.send_header("Content-Security-Policy", "default-src 'self'; script-src http://127.0.0.1:*; frame-src http://127.0.0.1:*; style-src 'self'")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.origin = f"http://{host}:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def embed(self, path: str, server: Server, site_key: str, title: str = "Shop", identity_token: str | None = None) -> str:
        identity = f" data-identity-token=\"{identity_token}\"" if identity_token else ""
        self.pages[path] = (
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" + title + "</title></head>"
            "<body><h1>" + title + "</h1><p>Welcome to the shop.</p>"
            f"<script src=\"{server.url}/widget.js\" data-site=\"{site_key}\"{identity} async></script></body></html>"
        )
        return self.origin + path

    def stop(self) -> None:
        self.httpd.shutdown()


def open_socket(server: Server, path: str, cookie: str | None = None) -> websocket.WebSocket:
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
    """Real data for an agent to reach: a site, a department, a canned response, a conversation
    assigned to the agent with a visitor's message, an offline message; and the agent's session."""
    owner = API(server, server.owner_email, server.owner_password)
    site = owner.create("/v1/sites", {"name": "Shop", "allowedOrigins": ["https://shop.example"]})
    department = owner.create("/v1/departments", {"name": "Support"})
    owner.create("/v1/canned-responses", {"shortcut": "hello", "body": "Hello, how can I help?", "departmentId": department["id"]})
    owner.create("/v1/agents", {"email": "ada@example.com", "displayName": "Ada Agent", "password": "first-Password-9138", "departments": [department["id"]]})
    agent = API(server, "ada@example.com", "first-Password-9138")
    status, body, headers = agent.call("POST", "/v1/auth/password", {"currentPassword": "first-Password-9138", "newPassword": "Ada-chooses-Her-own-7731"})
    assert status == 200 and body["stage"] == "complete", body
    agent.cookie, agent.csrf = headers["Set-Cookie"].split(";")[0], body["csrfToken"]

    staff_socket = open_socket(server, "/v1/ws/agent", cookie=agent.cookie)
    exchange(staff_socket, {"type": "hello", "protocol": 1}, "welcome")
    exchange(staff_socket, {"type": "availability.set", "ref": "a", "availability": "available"}, "ok")
    status, visitor, _ = API(server).call("POST", "/v1/visitor/sessions", {"siteKey": site["widgetKey"]})
    assert status == 201, visitor
    visitor_socket = open_socket(server, "/v1/ws/visitor")
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
