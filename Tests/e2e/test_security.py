"""Hostile content and hostile pages: markup shows as text, no script runs, and the pages refuse
to be framed where they should not be."""
import time

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from conftest import agent_and_visitor, console_login, new_agent, new_site, open_widget
from test_chat import agent_says, visitor_says

PAYLOADS = [
    '<img src=x onerror="window.__pwned = 1">',
    "<script>window.__pwned = 2</script>",
    '<a href="javascript:window.__pwned = 3">click</a>',
]


def assert_no_script_ran(browser):
    assert browser.driver.execute_script("return window.__pwned === undefined")
    try:
        browser.driver.switch_to.alert
        raise AssertionError("an alert opened")
    except NoAlertPresentException:
        pass
    problems = [entry["message"] for entry in browser.collect_log() if "Content Security Policy" in entry["message"]]
    assert not problems, problems


def test_markup_in_messages_shows_as_text_and_never_runs(server, owner, host, browsers):
    _, agent, visitor = agent_and_visitor(server, owner, host, browsers, "Lena Roth", "/xss")
    for payload in PAYLOADS:
        visitor_says(visitor, payload)
    agent.clickable(".sidebar button.item").click()
    for payload in PAYLOADS:
        agent.text_appears(".messages", payload)
    assert not agent.driver.find_elements(By.CSS_SELECTOR, ".messages img, .messages script, .messages a[href^='javascript']")
    for payload in PAYLOADS:
        agent_says(agent, payload)
    for payload in PAYLOADS:
        visitor.text_appears(".body", payload)
    assert not visitor.driver.find_elements(By.CSS_SELECTOR, ".body img, .body script, .body a[href^='javascript']")
    # Links are built element by element: real domain shown, no referrer, no opener.
    agent_says(agent, "Track it at https://carrier.example/track?id=42 please")
    link = visitor.find(".bubble-in a.link")
    assert link.get_attribute("href") == "https://carrier.example/track?id=42"
    assert link.get_attribute("rel") == "noopener noreferrer nofollow"
    assert link.find_element(By.CSS_SELECTOR, ".link-domain").text == "carrier.example"
    time.sleep(0.5)
    assert_no_script_ran(agent)
    assert_no_script_ran(visitor)
    visitor.driver.switch_to.default_content()
    assert_no_script_ran(visitor)


def test_widget_frame_refuses_an_origin_the_site_does_not_allow(server, owner, host, stranger, browsers):
    site = new_site(owner, host)
    visitor = browsers()
    visitor.expected_errors = ["frame-ancestors"]
    visitor.driver.get(stranger.embed("/stolen", server, site["widgetKey"]))
    time.sleep(3)
    # The frame never loads, so it never says it is ready and the button never appears.
    button = visitor.driver.find_element(By.CSS_SELECTOR, "#confidant-widget > button")
    assert not button.is_displayed()
    messages = [entry["message"] for entry in visitor.collect_log()]
    assert any("frame-ancestors" in message for message in messages), messages
    # The same site on an allowed origin works.
    visitor.driver.get(host.embed("/allowed", server, site["widgetKey"]))
    visitor.clickable("#confidant-widget > button")


def test_console_refuses_to_be_framed(server, owner, host, browsers):
    host.pages["/frames-console"] = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evil</title></head><body>"
        f"<iframe id=\"victim\" src=\"{server.url}/console/\" title=\"victim\"></iframe></body></html>")
    attacker = browsers()
    attacker.expected_errors = ["frame-ancestors", "X-Frame-Options", "Refused to display"]
    attacker.driver.get(host.origin + "/frames-console")
    time.sleep(2)
    messages = [entry["message"] for entry in attacker.collect_log()]
    assert any("frame-ancestors" in message or "Refused to display" in message for message in messages), messages
    frame = attacker.find("#victim")
    attacker.driver.switch_to.frame(frame)
    assert not attacker.driver.find_elements(By.CSS_SELECTOR, "#login-email"), "the console did not render inside the frame"
    # The browser reported the violation; admins see it.
    deadline = time.time() + 10
    reports = []
    while time.time() < deadline and not reports:
        status, body, _ = owner.call("GET", "/v1/csp-reports")
        assert status == 200
        reports = [report for report in body["items"] if report["directive"] == "frame-ancestors"]
        time.sleep(0.3)
    assert reports and reports[0]["documentUri"].startswith(server.url), body  # Chrome sends only the origin here


def test_no_session_or_token_in_urls_or_local_storage(server, owner, host, browsers):
    site = new_site(owner, host)
    mona = new_agent(owner, "Mona Weiss")
    agent = browsers()
    console_login(agent, server, mona)
    assert "session" not in agent.driver.current_url
    assert agent.driver.execute_script("return window.localStorage.length") == 0
    assert agent.driver.execute_script("return document.cookie") == "", "the session cookie is HttpOnly"
    visitor = browsers()
    open_widget(visitor, host.embed("/storage", server, site["widgetKey"]))
    assert "token" not in visitor.driver.execute_script("return location.href")
    assert visitor.driver.execute_script("return window.localStorage.length") == 0
