"""The widget's states: offline, waiting, rating, transcript, languages, invitations, phones,
keyboards, and recovering from a lost connection."""
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import agent_and_visitor, busy_agent_and_waiting_visitor, console_login, new_agent, new_site, open_widget
from harness import API, Server
from test_chat import agent_says, visitor_says


def test_offline_form_when_nobody_is_online(server, owner, host, browsers):
    site = new_site(owner, host)
    visitor = browsers()
    open_widget(visitor, host.embed("/offline", server, site["widgetKey"]))
    visitor.text_appears(".body", "Leave us a message")
    visitor.find("#offline-name").send_keys("Vera")
    visitor.find("#offline-email").send_keys("vera@example.com")
    visitor.find("#offline-body").send_keys("Please call me back about order 77.")
    visitor.screenshot("widget-offline")
    visitor.clickable("form button[type=submit]").click()
    visitor.text_appears(".body", "We received your message")
    status, reply, _ = owner.call("GET", "/v1/offline-messages")
    assert status == 200
    assert any(item["body"] == "Please call me back about order 77." and item["email"] == "vera@example.com" for item in reply["items"])


def test_waiting_shows_queue_position_and_expected_wait(server, owner, host, browsers):
    account, agent, first, second = busy_agent_and_waiting_visitor(server, owner, host, browsers, "Fay Nagy", "/wait")
    first.text_appears(".header-title", "Fay Nagy")
    second.text_appears(".banner", "You are number 1 in the queue.")
    second.text_appears(".banner", "Expected wait: about")
    second.screenshot("widget-waiting")
    # The agent sees the waiting visitor with a live waiting time and takes them when free.
    agent.find(".sidebar [data-queued] .wait")
    agent.clickable(".sidebar button.item").click()
    agent.clickable(".conversation-header .danger").click()
    second.text_appears(".header-title", account["displayName"])
    assert second.find(".banner").is_displayed() is False


def test_rating_and_transcript_download(server, owner, host, browsers):
    _, agent, visitor = agent_and_visitor(server, owner, host, browsers, "Gil Marsh", "/rating")
    visitor_says(visitor, "Can I change my delivery address?")
    agent.clickable(".sidebar button.item").click()
    agent_says(agent, "Yes, I have updated it.")
    visitor.text_appears(".bubble-in", "I have updated it")
    agent.clickable(".conversation-header .danger").click()
    visitor.text_appears(".body", "This conversation has ended.")
    visitor.clickable('.star[data-score="5"]').click()
    visitor.find("#rating-comment").send_keys("Quick and kind")
    visitor.screenshot("widget-rating")
    visitor.clickable(".end form button[type=submit]").click()
    visitor.text_appears(".thanks", "Thank you for your feedback")
    agent.text_appears(".messages", "Rated 5/5")

    visitor.clickable(".end button.secondary").click()
    text = visitor.downloaded("*.txt").read_text()
    assert "Can I change my delivery address?" in text
    assert "Gil Marsh: Yes, I have updated it." in text


def test_hungarian_and_spanish_widgets_are_translated(server, owner, host, browsers):
    hungarian = new_site(owner, host, language="hu")
    kata = new_agent(owner, "Kata Szabó")
    agent = browsers()
    console_login(agent, server, kata)
    visitor = browsers()
    open_widget(visitor, host.embed("/hu", server, hungarian["widgetKey"]))
    visitor.text_appears(".header-title", "Írjon nekünk")
    visitor.text_appears(".greeting", "Miben segíthetünk ma?")
    assert visitor.find("#message").get_attribute("placeholder") == "Írja be üzenetét…"
    assert visitor.find(".composer .primary").text == "Küldés"
    assert visitor.driver.execute_script("return document.documentElement.lang") == "hu"
    visitor.screenshot("widget-hungarian")
    # "auto" follows the visitor's browser; with nobody online, the offline form is Spanish too.
    agent.clickable("button.switch").click()
    agent.text_appears("button.switch", "Away")
    automatic = new_site(owner, host, language="auto")
    spanish = browsers(language="es-ES")
    open_widget(spanish, host.embed("/es", server, automatic["widgetKey"]))
    spanish.text_appears(".header-title", "Chatea con nosotros")
    spanish.text_appears(".body", "Déjanos un mensaje")
    assert spanish.find("#offline-body").get_attribute("placeholder") == "Escribe un mensaje…"
    assert spanish.find("form button[type=submit]").text == "Enviar mensaje"
    spanish.screenshot("widget-spanish")


def test_pre_chat_form_and_consent_are_recorded(server, owner, host, browsers):
    site = new_site(owner, host, preChat={"enabled": True, "askName": True, "askEmail": True},
                    consent={"required": True, "privacyPolicyUrl": "https://shop.example/privacy"}, greeting="Welcome to the shop!")
    hana = new_agent(owner, "Hana Berg")
    agent = browsers()
    console_login(agent, server, hana)
    visitor = browsers()
    open_widget(visitor, host.embed("/consent", server, site["widgetKey"]))
    visitor.text_appears(".greeting", "Welcome to the shop!")
    link = visitor.find(".consent a")
    assert link.get_attribute("href") == "https://shop.example/privacy"
    assert link.get_attribute("rel") == "noopener noreferrer nofollow"
    visitor.find("#prechat-name").send_keys("Vera Vidal")
    visitor.find("#prechat-email").send_keys("vera@example.com")
    visitor_says(visitor, "Hello")
    visitor.text_appears(".error", "agree to the privacy policy")
    visitor.find("#consent").click()
    visitor.find("#message").send_keys(Keys.ENTER)
    agent.text_appears(".sidebar", "Vera Vidal")
    agent.clickable(".sidebar button.item").click()
    agent.text_appears(".details", "vera@example.com")
    details = agent.find(".details").text
    assert "Consent" in details and "—" not in details.split("Consent")[1].split("\n")[1]


def test_proactive_invitation_can_be_dismissed(server, owner, host, browsers):
    site = new_site(owner, host, proactive=[{"seconds": 1, "urlPattern": f"{host.origin}/pricing*", "message": "Questions about plans?"}])
    visitor = browsers()
    visitor.driver.get(host.embed("/pricing/annual", server, site["widgetKey"]))
    bubble = visitor.visible("#confidant-widget [role=dialog]", timeout=10)
    assert "Questions about plans?" in bubble.text
    visitor.screenshot("widget-invitation")
    visitor.clickable("#confidant-widget [role=dialog] button").click()
    assert not visitor.driver.find_elements(By.CSS_SELECTOR, "#confidant-widget [role=dialog]")
    visitor.driver.refresh()
    visitor.find("#confidant-widget > button")
    time.sleep(2)
    assert not visitor.driver.find_elements(By.CSS_SELECTOR, "#confidant-widget [role=dialog]"), "dismissed for this tab"
    # Pages that match no rule get no invitation.
    visitor.driver.get(host.embed("/about", server, site["widgetKey"]))
    visitor.find("#confidant-widget > button")
    time.sleep(2)
    assert not visitor.driver.find_elements(By.CSS_SELECTOR, "#confidant-widget [role=dialog]")


def test_phone_screen_and_keyboard_only(server, owner, host, browsers):
    site = new_site(owner, host)
    ivan = new_agent(owner, "Ivan Popa")
    agent = browsers()
    console_login(agent, server, ivan)
    phone = browsers(width=360, height=740)
    phone.driver.get(host.embed("/phone", server, site["widgetKey"]))
    button = phone.clickable("#confidant-widget > button")
    assert button.get_attribute("aria-label")
    # Keyboard only: focus the button, Enter opens, type, Enter sends.
    phone.driver.execute_script("arguments[0].focus()", button)
    button.send_keys(Keys.ENTER)
    frame = phone.visible("#confidant-widget iframe")
    width = phone.driver.execute_script("return arguments[0].getBoundingClientRect().width", frame)
    assert 350 <= width <= 360, f"the open widget fills a 360 px screen ({width})"
    phone.driver.switch_to.frame(frame)
    box = phone.find("#message")
    assert box.get_attribute("aria-label")
    box.send_keys("Typed on a phone", Keys.ENTER)
    agent.text_appears(".sidebar", "Typed on a phone")
    labels = phone.driver.execute_script("return [...document.querySelectorAll('button')].every((b) => b.textContent.trim() || b.getAttribute('aria-label'))")
    assert labels, "every button has a name for screen readers"
    phone.screenshot("widget-phone")


def test_reconnecting_recovers_without_losing_or_duplicating(owner, host, browsers):
    # A server of its own: this test stops and restarts it.
    server = Server()
    try:
        api = API(server, server.owner_email, server.owner_password)
        site = api.create("/v1/sites", {"name": "Restart", "allowedOrigins": [host.origin]})
        jo = api.create("/v1/agents", {"email": "jo@example.com", "displayName": "Jo Ek", "password": "password-of-jo", "role": "agent",
                                        "maxConversations": 5, "departments": []})
        agent = browsers()
        console_login(agent, server, {**jo, "password": "password-of-jo"})
        visitor = browsers()
        visitor.expected_errors = ["WebSocket connection", "ERR_CONNECTION_REFUSED"]
        agent.expected_errors = ["WebSocket connection", "ERR_CONNECTION_REFUSED"]
        open_widget(visitor, host.embed("/restart", server, site["widgetKey"]))
        visitor_says(visitor, "Before the outage")
        agent.text_appears(".sidebar", "Before the outage")

        server.pause()
        visitor.text_appears(".banner", "Reconnecting")
        visitor.screenshot("widget-reconnecting")
        visitor_says(visitor, "Sent during the outage")
        server.resume()
        visitor.wait(30).until(lambda _: not visitor.find(".banner").is_displayed())
        agent.clickable(".sidebar button.item", timeout=30).click()
        agent.text_appears(".messages", "Sent during the outage", timeout=30)
        visitor.text_appears(".message.out .message-meta", "Read", timeout=30)
        bodies = [element.text for element in agent.driver.find_elements(By.CSS_SELECTOR, ".messages .row.visitor .bubble")]
        assert bodies.count("Before the outage") == 1
        assert bodies.count("Sent during the outage") == 1
    finally:
        server.stop()
