"""Privacy in the browser: the widget's warning before a card number or password leaves, and the
masking every side sees once it has."""
import csv
import hashlib
import hmac
import http.server
import io
import json
import threading
import time
import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from conftest import agent_and_visitor, console_login, new_agent, new_site, open_widget, say
from harness import UNLIMITED, Server, seeded


def test_widget_warns_before_a_card_number_and_everyone_sees_it_masked(server, owner, host, browsers):
    _, agent, visitor = agent_and_visitor(server, owner, host, browsers, "Petra Privacy", "/privacy")
    # The promise stands at the start of every chat.
    visitor.text_appears(".safety", "never ask for your password or full card number")

    # A card number is held with a warning; editing keeps the text to change.
    say(visitor, "My card is 4111 1111 1111 1111")
    visitor.text_appears(".warning", "We will never ask for your card number or password in chat.")
    visitor.screenshot("widget-card-warning")
    visitor.clickable(".warning .edit-message").click()
    assert not visitor.driver.find_elements(By.CSS_SELECTOR, ".warning")
    box = visitor.find("#message")
    assert box.get_attribute("value") == "My card is 4111 1111 1111 1111"
    assert not visitor.driver.find_elements(By.CSS_SELECTOR, ".bubble-out"), "nothing was sent"

    # Sent anyway: it arrives masked, and the visitor's own bubble shows the masked form too.
    box.send_keys(Keys.ENTER)
    visitor.clickable(".warning .send-anyway").click()
    visitor.text_appears(".bubble-out", "4111 11•• •••• 1111")
    visitor.text_appears(".message-meta", "Hidden for your safety")
    agent.text_appears(".sidebar .item", "4111 11•• •••• 1111")
    agent.clickable(".sidebar button.item").click()
    agent.text_appears(".messages .row.visitor .bubble", "4111 11•• •••• 1111")
    agent.text_appears(".messages .row.visitor .meta", "Masked on arrival: card")
    assert "4111 1111 1111 1111" not in agent.driver.page_source
    assert "4111 1111 1111 1111" not in visitor.driver.page_source

    # Talking about a password is held the same way; other numbers pass without a warning.
    say(visitor, "What is my password?")
    visitor.text_appears(".warning", "never ask for your card number or password")
    visitor.clickable(".warning .edit-message").click()
    box = visitor.find("#message")
    box.clear()
    say(visitor, "Call me on +36 30 123 4567")
    agent.text_appears(".messages", "Call me on +36 30 123 4567")
    assert not visitor.driver.find_elements(By.CSS_SELECTOR, ".warning")


def test_console_holds_a_reply_that_asks_for_a_password(server, owner, host, browsers):
    _, agent, visitor = agent_and_visitor(server, owner, host, browsers, "Gustav Guard", "/guard")
    # A supervisor (here the owner) is in the console, not watching this conversation.
    supervisor = browsers()
    console_login(supervisor, server, {"email": server.owner_email, "password": server.owner_password}, available=False)
    say(visitor, "Hi, I cannot sign in to my account")
    agent.text_appears(".sidebar .item", "cannot sign in")
    agent.clickable(".sidebar button.item").click()
    box = agent.find("#composer")
    box.send_keys("To check, please tell me your password.")
    box.send_keys(Keys.ENTER)
    # Held, with the reason; the text stays to rephrase; staff see a note of it.
    agent.text_appears(".composer-error .error", "Held: this reply asks the visitor for a password")
    assert agent.find("#composer").get_attribute("value") == "To check, please tell me your password."
    agent.text_appears(".messages .row.note", "asked the visitor for a password")
    agent.screenshot("console-guard-held")
    # Rephrased, it goes through; the visitor never saw the held one.
    box = agent.find("#composer")
    box.clear()
    box.send_keys("Let's reset it: use the 'Forgot password' link on the sign-in page.")
    box.send_keys(Keys.ENTER)
    visitor.text_appears(".bubble-in", "Forgot password")
    assert "tell me your password" not in visitor.driver.page_source

    # The supervisor heard of the hold at once; Review opens the conversation, where watching
    # live they let one such reply through.
    supervisor.text_appears("#security-alert", "Held: Gustav Guard's reply asked a visitor for a password.")
    supervisor.screenshot("console-guard-alert")
    supervisor.clickable("#security-alert button").click()
    supervisor.text_appears(".transcript", "cannot sign in")
    supervisor.clickable("#watch-live").click()
    supervisor.clickable("#allow-guarded").click()
    supervisor.text_appears(".note-mode", "next reply asking for a secret goes through")
    box = agent.find("#composer")
    box.send_keys("Please read me the one-time code from your bank's app.")
    box.send_keys(Keys.ENTER)
    visitor.text_appears(".body", "one-time code from your bank")


def test_audit_log_searched_and_exported_as_csv_that_no_spreadsheet_evaluates(server, owner, browsers):
    site = owner.create("/v1/sites", {"name": "Shop", "allowedOrigins": ["https://shop.example"]})
    # A value an attacker could plant in an audited field, shaped as a spreadsheet formula.
    owner.create(f"/v1/sites/{site['id']}/blocklist", {"kind": "pattern", "value": "=HYPERLINK(\"http://evil.example\",\"x\")"})
    browser = browsers()
    console_login(browser, server, {"email": server.owner_email, "password": server.owner_password}, available=False)
    browser.clickable("nav button[data-page=audit]").click()
    box = browser.find("#audit-action")
    box.send_keys("site.blocklist.")
    box.send_keys(Keys.ENTER)
    browser.text_appears("#audit-table", "site.blocklist.added")
    browser.clickable("#audit-export").click()
    rows = list(csv.reader(io.StringIO(browser.downloaded("*.csv").read_text(encoding="utf-8"))))
    assert rows[0][:4] == ["at_utc", "actor_kind", "actor_id", "action"]
    assert {row[3] for row in rows[1:]} == {"site.blocklist.added"}, rows
    details = rows[1][8]
    assert details.startswith("kind=pattern; value=") and "HYPERLINK" in details
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), f"a cell a spreadsheet would evaluate: {cell!r}"


def test_insider_alert_reaches_the_console_and_a_signed_webhook(browsers):
    secret = "e2e-webhook-secret-" + uuid.uuid4().hex
    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Confidant-Signature"], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    server = Server(env={
        **UNLIMITED, "CONFIDANT_ALERTS_TRANSCRIPT_THRESHOLD": "2", "CONFIDANT_ALERTS_CHECK_INTERVAL_SECONDS": "1",
        "CONFIDANT_ALERTS_WEBHOOK_URL": f"http://127.0.0.1:{hook.server_address[1]}/hook", "CONFIDANT_ALERTS_WEBHOOK_SECRET": secret,
    })
    try:
        data = seeded(server)
        admin = browsers()
        console_login(admin, server, {"email": server.owner_email, "password": server.owner_password}, available=False)
        # An agent reads more transcripts than the threshold allows in the window.
        for _ in range(3):
            status, _, _ = data["agent"].call("GET", f"/v1/conversations/{data['conversation']}/transcript")
            assert status == 200
        admin.text_appears("#security-alert", "Ada Agent opened 3 transcripts")
        admin.screenshot("console-security-alert")
        admin.clickable("#security-alert button").click()
        admin.text_appears("#security-alerts", "Ada Agent opened 3 transcripts")
        admin.clickable("#security-alerts tbody button").click()
        admin.text_appears("#security-alerts", "No open alerts.")

        deadline = time.time() + 15
        while time.time() < deadline and not received:
            time.sleep(0.2)
        assert received, "the webhook was called"
        signature, body = received[0]
        fields = dict(part.split("=", 1) for part in signature.split(","))
        expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(fields["v1"], expected), "the signature verifies with the shared secret"
        assert abs(int(fields["t"]) - time.time()) < 60
        alert = json.loads(body)
        assert alert["kind"] == "insider.transcripts" and alert["actorName"] == "Ada Agent", alert
    finally:
        server.stop()
        hook.shutdown()


def test_consent_text_version_withdrawal_and_deleting_a_conversation_in_the_widget(server, owner, host, browsers):
    site = new_site(owner, host, visitorsMayDeleteConversations=True, consent={
        "required": True, "privacyPolicyUrl": "https://shop.example/privacy", "text": "I let Shop use my messages to answer me, as in its", "version": "2024-05"})
    agent = browsers()
    console_login(agent, server, new_agent(owner, "Cili Consent"))
    visitor = browsers()
    open_widget(visitor, host.embed("/consent-withdrawal", server, site["widgetKey"]))
    visitor.text_appears(".consent", "I let Shop use my messages to answer me")
    visitor.find("#consent").click()
    say(visitor, "Is my parcel on its way?")
    agent.clickable(".sidebar button.item").click()
    agent.clickable(".conversation-header .danger").click()
    visitor.text_appears(".body", "This conversation has ended.")
    visitor.text_appears(".privacy", "You agreed to the privacy policy")

    # The visitor deletes the conversation for good; the next one does not ask for consent again.
    visitor.clickable("#delete-conversation").click()
    visitor.text_appears(".confirm", "Delete this conversation for good?")
    visitor.clickable("#confirm-delete").click()
    visitor.text_appears(".privacy .notice", "The conversation was deleted.")
    assert not visitor.driver.find_elements(By.CSS_SELECTOR, "#consent"), "version 2024-05 is agreed already"
    status, page, _ = owner.call("GET", "/v1/conversations?view=history")
    assert status == 200 and page["items"] == [], page

    # Withdrawing consent: recorded, and the consent step is back.
    visitor.clickable("#withdraw-consent").click()
    visitor.text_appears(".privacy .notice", "Your consent is withdrawn")
    visitor.find("#consent")
    visitor.screenshot("widget-consent-withdrawn")
    status, audit, _ = owner.call("GET", "/v1/audit?action=consent.withdrawn")
    assert status == 200 and len(audit["items"]) == 1, audit


def test_an_admin_exports_and_erases_a_visitor_from_history(server, owner, host, browsers):
    _, agent, visitor = agent_and_visitor(server, owner, host, browsers, "Edit Erase", "/erase")
    say(visitor, "Please forget me: erase-canary-7731")
    agent.clickable(".sidebar button.item").click()
    agent.text_appears(".messages", "erase-canary-7731")
    agent.clickable(".conversation-header .danger").click()
    assert not agent.driver.find_elements(By.CSS_SELECTOR, "#erase-visitor"), "agents have no erase button"

    admin = browsers()
    console_login(admin, server, {"email": server.owner_email, "password": server.owner_password}, available=False)
    admin.clickable("nav button[data-page=history]").click()
    admin.clickable("tr.clickable").click()
    admin.text_appears(".transcript", "erase-canary-7731")
    admin.clickable("#export-visitor").click()
    document = json.loads(admin.downloaded("visitor-*.json").read_text(encoding="utf-8"))
    assert document["format"] == "confidant.visitor-export.v1"
    assert "erase-canary-7731" in json.dumps(document)

    admin.clickable("#erase-visitor").click()
    admin.wait().until(EC.alert_is_present()).accept()
    admin.text_appears("#erased", "Erased: 1 conversation(s)")
    admin.screenshot("console-visitor-erased")
    status, page, _ = owner.call("GET", "/v1/conversations?view=history")
    assert status == 200 and page["items"] == [], page
