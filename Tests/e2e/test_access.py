"""Who gets in, in a real browser: two-factor enrollment from the QR code the console shows (decoded
with zbarimg, codes computed with oathtool), sign-in with the second factor, and verified visitors
whose identity the site's backend signed with the documented samples."""
import re
import subprocess
import time
import urllib.parse
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from conftest import ARTIFACTS, agent_and_visitor, console_login, new_agent, new_site, open_widget, say
from harness import ROOT


def oathtool(secret: str, at: float) -> str:
    return subprocess.run(["oathtool", "--totp", "--base32", f"--now=@{int(at)}", secret], check=True, capture_output=True, text=True).stdout.strip()


def test_two_factor_enrollment_and_sign_in(server, owner, browsers):
    account = new_agent(owner, "Tamara Kiss")
    browser = browsers()
    browser.driver.get(server.url + "/console/")
    browser.find("#login-email").send_keys(account["email"])
    browser.find("#login-password").send_keys(account["password"])
    browser.clickable("form.login button[type=submit]").click()
    browser.clickable('nav button[data-page="account"]').click()
    browser.clickable("#enroll-start").click()
    browser.find("#enroll-password").send_keys(account["password"])
    browser.clickable("#account-2fa button[type=submit]").click()

    # The QR code as the browser draws it: screenshot the image, decode it with zbarimg.
    qr = browser.visible("#enroll-qr")
    browser.wait().until(lambda driver: driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", qr))
    ARTIFACTS.mkdir(exist_ok=True)
    image = ARTIFACTS / "console-2fa-qr.png"
    image.write_bytes(qr.screenshot_as_png)
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)], capture_output=True, text=True)
    assert decoded.returncode == 0, "zbarimg found no QR code in the enrollment page"
    uri = urllib.parse.urlparse(decoded.stdout.strip())
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert urllib.parse.unquote(uri.path) == f"/Confidant:{account['email']}"
    secret = urllib.parse.parse_qs(uri.query)["secret"][0]
    assert browser.find("#enroll-secret").text.replace(" ", "") == secret, "the key for manual entry is the one in the QR code"
    browser.screenshot("console-2fa-enrollment")

    now = time.time()
    browser.find("#enroll-code").send_keys(oathtool(secret, now))
    browser.clickable("#account-2fa button[type=submit]").click()
    codes = browser.visible("#recovery-codes")
    assert len(codes.find_elements(By.CSS_SELECTOR, "li")) == 10
    browser.screenshot("console-2fa-recovery-codes")
    browser.clickable("#recovery-saved").click()
    browser.text_appears("#account-2fa", "On.")

    # Sign out, sign in: the password alone is not enough.
    browser.clickable("header button.secondary").click()
    browser.find("#login-email").send_keys(account["email"])
    browser.find("#login-password").send_keys(account["password"])
    browser.clickable("form.login button[type=submit]").click()
    code = browser.visible("#second-factor-code")
    browser.screenshot("console-2fa-sign-in")
    assert not browser.driver.find_elements(By.CSS_SELECTOR, "nav"), "nothing of the console before the second factor"
    code.send_keys(oathtool(secret, now + 30))  # the next step: the enrollment's code cannot be used again
    browser.clickable("form button[type=submit]").click()
    browser.clickable('nav button[data-page="inbox"]')
    browser.clickable("button.switch").click()
    browser.text_appears("button.switch", "Available")

    # The account page lists this session; the audit log has the whole story.
    browser.clickable('nav button[data-page="account"]').click()
    browser.text_appears("#account-sessions", "This session")
    status, events, _ = owner.call("GET", "/v1/audit?limit=50")
    actions = {(event["action"], event["outcome"]) for event in events["items"] if event.get("actorId") == account["id"]}
    assert ("auth.2fa.enabled", "success") in actions and ("auth.second_factor", "success") in actions


def test_required_two_factor_enrolls_before_the_console(server, owner, browsers):
    account = new_agent(owner, "Rita Required")
    status, _, _ = owner.call("PUT", "/v1/security/policy", {"policy": {"requireTwoFactor": ["agent"]}})
    assert status == 200
    browser = browsers()
    browser.driver.get(server.url + "/console/")
    browser.find("#login-email").send_keys(account["email"])
    browser.find("#login-password").send_keys(account["password"])
    browser.clickable("form.login button[type=submit]").click()
    browser.text_appears(".login", "requires two-factor authentication")
    secret = browser.visible("#enroll-secret").text.replace(" ", "")
    browser.find("#enroll-code").send_keys(oathtool(secret, time.time()))
    browser.clickable(".login button[type=submit]").click()
    browser.clickable("#recovery-saved").click()
    browser.clickable('nav button[data-page="inbox"]')


def sample_token(language: str, site: dict, secret: str, user: str) -> str:
    sample = ROOT / "docs" / "samples" / f"identity-token.{ 'py' if language == 'python' else 'js' }"
    command = ["python3", str(sample)] if language == "python" else ["node", str(sample)]
    result = subprocess.run(command + [site["widgetKey"], secret, user, f"{user}@example.com", "Kata Kovács"], check=True, capture_output=True, text=True)
    return result.stdout.strip()


def test_identity_token_samples_and_the_verified_badge(server, owner, host, browsers):
    site = new_site(owner, host)
    status, rotated, _ = owner.call("POST", f"/v1/sites/{site['id']}/identity-secret", {"graceHours": 0})
    assert status == 200
    secret = rotated["secret"]
    for language in ["python", "node"]:
        token = sample_token(language, site, secret, f"{language}-user")
        assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)
        status, session, _ = owner.call("POST", "/v1/visitor/sessions", {"siteKey": site["widgetKey"], "identityToken": token})
        assert status == 201 and session["verified"], f"the {language} sample's token is accepted"

    # The widget passes the token from its script tag; agents see the badge.
    status, _, _ = owner.call("PATCH", f"/v1/sites/{site['id']}", {"requireVerifiedIdentity": True})
    assert status == 200
    anonymous = browsers()
    anonymous.expected_errors = ["/v1/visitor/sessions"]
    open_widget(anonymous, host.embed("/anonymous", server, site["widgetKey"]))
    anonymous.text_appears("#sign-in-required", "Sign in on this site to chat with us.")
    anonymous.screenshot("widget-sign-in-required")

    agent_account = new_agent(owner, "Vilma Verified")
    agent = browsers()
    console_login(agent, server, agent_account)
    visitor = browsers()
    open_widget(visitor, host.embed("/signed-in", server, site["widgetKey"], identity_token=sample_token("python", site, secret, "customer-7")))
    say(visitor, "Where is my parcel?")
    agent.text_appears(".sidebar", "Where is my parcel?")
    agent.clickable(".sidebar button.item").click()
    agent.text_appears(".conversation-header", "Verified")
    agent.text_appears("aside.details", "customer-7")
    agent.screenshot("console-verified-visitor")


def test_security_admin_pages_and_an_auditors_console(server, owner, host, browsers):
    site = new_site(owner, host)
    manager = browsers()
    manager.expected_errors = ["/v1/security/policy"]  # the refused self-lockout below
    console_login(manager, server, {"email": server.owner_email, "password": server.owner_password}, available=False)
    manager.clickable('nav button[data-page="admin"]').click()

    # Security: require 2FA of supervisors; a network list that would lock the admin out is refused.
    manager.clickable("#tab-security").click()
    manager.clickable("#policy-2fa-supervisor").click()
    manager.clickable(".tabs ~ .stack form button[type=submit], [role=tabpanel] form button[type=submit]").click()
    manager.text_appears(".notice", "Security policy saved.")
    status, policy, _ = owner.call("GET", "/v1/security/policy")
    assert policy["policy"]["requireTwoFactor"] == ["supervisor"]
    manager.find("#policy-networks").send_keys("10.0.0.0/8")
    manager.clickable("[role=tabpanel] form button[type=submit]").click()
    alert = manager.wait().until(EC.alert_is_present())
    assert "lock you out" in alert.text
    alert.dismiss()
    manager.text_appears(".error", "lock you out")
    assert owner.call("GET", "/v1/security/policy")[1]["policy"]["staffNetworks"] == []
    manager.text_appears("#csp-reports", "No violations reported.")
    manager.screenshot("console-admin-security")

    # API tokens: the token is shown once and works as a bearer token.
    manager.clickable("#tab-tokens").click()
    manager.find("#new-token-name").send_keys("CRM sync")
    manager.clickable("#scope-readDirectory").click()
    manager.clickable("[role=tabpanel] form button[type=submit]").click()
    token = manager.visible("#new-token-value").text
    assert token.startswith("cft_")
    request = urllib.request.Request(server.url + "/v1/agents", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    manager.screenshot("console-admin-api-tokens")

    # Sites: the identity secret is created and shown once.
    manager.clickable("#tab-sites").click()
    manager.clickable(f"#site-{site['id'][:8]}-rotate").click()
    assert manager.visible(f"#site-{site['id'][:8]}-secret").text.startswith("cfs_")

    # An auditor's console: reports, the audit log and their account; no inbox.
    auditor = new_agent(owner, "Aurel Auditor", role="auditor")
    browser = browsers()
    browser.driver.get(server.url + "/console/")
    browser.find("#login-email").send_keys(auditor["email"])
    browser.find("#login-password").send_keys(auditor["password"])
    browser.clickable("form.login button[type=submit]").click()
    browser.text_appears("nav", "Audit log")
    pages = [button.get_attribute("data-page") for button in browser.driver.find_elements(By.CSS_SELECTOR, "nav button")]
    assert pages == ["reports", "audit", "account"]
    browser.text_appears("#report", "Conversations")
    browser.clickable('nav button[data-page="audit"]').click()
    browser.text_appears("#audit-table", "api_token.created")
    browser.text_appears("#audit-table", "security.policy.updated")
    browser.screenshot("console-audit-log")


def test_an_agent_bans_a_visitor_from_the_console(server, owner, host, browsers):
    site, agent, visitor = agent_and_visitor(server, owner, host, browsers, "Bence Ban", "/ban")
    say(visitor, "Buy cheap followers at my site")
    agent.clickable(".sidebar button.item").click()
    agent.clickable("#ban-visitor").click()
    alert = agent.wait().until(EC.alert_is_present())
    assert "Ban" in alert.text
    alert.accept()
    agent.text_appears(".conversation-header", "closed")
    status, entries, _ = owner.call("GET", f"/v1/sites/{site['id']}/blocklist")
    assert status == 200 and [entry["kind"] for entry in entries["items"]] == ["visitor"]
    # The visitor comes back: a neutral answer, and nothing reaches the agent.
    visitor.expected_errors = ["chat_unavailable"]
    open_widget(visitor, host.embed("/ban-again", server, site["widgetKey"]))
    say(visitor, "Let me back in")
    visitor.text_appears("body", "Chat is not available right now.")
    visitor.screenshot("widget-banned")
    assert "Let me back in" not in agent.find(".sidebar").text
