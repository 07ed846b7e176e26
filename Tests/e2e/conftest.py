"""Fixtures for the browser tests: a real Confidant server, host pages on other loopback origins,
and headless Chromium sessions (Debian's chromium and chromedriver, driven by Selenium)."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from harness import API, ROOT, HostPage, Server

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CONFIDANT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CONFIDANT_CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture
def server():
    """A fresh server per test, so no test inherits another's queue or agents."""
    running = Server()
    yield running
    running.stop()


@pytest.fixture
def owner(server) -> API:
    return API(server, server.owner_email, server.owner_password)


@pytest.fixture(scope="session")
def host() -> HostPage:
    page = HostPage("127.0.0.2")
    yield page
    page.stop()


@pytest.fixture(scope="session")
def stranger() -> HostPage:
    """A page on an origin that no site allows."""
    page = HostPage("127.0.0.3")
    yield page
    page.stop()


class Browser:
    """One Chromium session with its own profile, download folder and console log."""

    def __init__(self, width: int = 1280, height: int = 860, language: str = "en-US") -> None:
        self.downloads = Path(tempfile.mkdtemp(prefix="confidant-downloads-"))
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}", f"--lang={language}",
                         "--autoplay-policy=no-user-gesture-required",
                         # A smoothly scrolling page moves a button while WebDriver clicks it ("click intercepted").
                         "--force-prefers-reduced-motion"]:
            options.add_argument(argument)
        options.add_experimental_option("prefs", {
            "intl.accept_languages": language, "download.default_directory": str(self.downloads), "download.prompt_for_download": False,
        })
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(self.downloads), "eventsEnabled": True})
        if width < 500:
            # Desktop windows have a minimum width; emulate the phone's viewport instead.
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True})
        self.log: list[dict] = []

    def wait(self, timeout: float = 15) -> WebDriverWait:
        # Live pages re-render: an element found a moment ago may have been replaced.
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))

    def find(self, css: str, timeout: float = 15):
        return self.wait(timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))

    def visible(self, css: str, timeout: float = 15):
        return self.wait(timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def clickable(self, css: str, timeout: float = 15):
        return self.wait(timeout).until(EC.element_to_be_clickable((By.CSS_SELECTOR, css)))

    def click_nth(self, css: str, index: int, timeout: float = 15) -> None:
        """Clicks the index-th match, finding it again if a re-render replaced it meanwhile."""

        def click(driver) -> bool:
            matches = driver.find_elements(By.CSS_SELECTOR, css)
            if len(matches) <= index:
                return False
            matches[index].click()
            return True

        self.wait(timeout).until(click)

    def text_appears(self, css: str, text: str, timeout: float = 15) -> None:
        try:
            self.wait(timeout).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
        except TimeoutException:
            shown = [element.text for element in self.driver.find_elements(By.CSS_SELECTOR, css)]
            raise AssertionError(f"{text!r} did not appear in {css}; it shows {shown!r}") from None

    def collect_log(self) -> list[dict]:
        self.log.extend(self.driver.get_log("browser"))
        return self.log

    def downloaded(self, pattern: str, timeout: float = 15) -> Path:
        """The first file in the download folder matching `pattern`, once the download is complete."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            files = sorted(self.downloads.glob(pattern))
            if files:
                return files[0]
            time.sleep(0.1)
        raise AssertionError(f"nothing matching {pattern} was downloaded within {timeout} s")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def quit(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.downloads, ignore_errors=True)


@pytest.fixture
def browsers():
    """Opens browsers on demand; at the end checks that no page reported a CSP violation or a
    script error, then closes them."""
    opened: list[Browser] = []

    def open_browser(**options) -> Browser:
        browser = Browser(**options)
        opened.append(browser)
        return browser

    yield open_browser
    problems = []
    for browser in opened:
        try:
            for entry in browser.collect_log():
                message = entry.get("message", "")
                if "favicon.ico" in message or "/v1/auth/me" in message or entry.get("level") != "SEVERE":
                    continue
                if getattr(browser, "expected_errors", None) and any(expected in message for expected in browser.expected_errors):
                    continue
                problems.append(message)
        finally:
            browser.quit()
    assert not problems, "browser console errors:\n" + "\n".join(problems)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_site(owner: API, host: HostPage, **settings) -> dict:
    return owner.create("/v1/sites", {"name": unique("Shop"), "allowedOrigins": [host.origin], "settings": settings})


def new_agent(owner: API, name: str, *, departments: list[str] | None = None, limit: int = 5, role: str = "agent") -> dict:
    email = f"{unique(name.split()[0].lower())}@example.com"
    password = f"password-of-{name.split()[0].lower()}"
    agent = owner.create("/v1/agents", {"email": email, "displayName": name, "password": password, "role": role, "maxConversations": limit,
                                        "departments": departments or []})
    return {**agent, "password": password}


def console_login(browser: Browser, server: Server, agent: dict, *, available: bool = True) -> None:
    browser.driver.get(server.url + "/console/")
    browser.find("#login-email").send_keys(agent["email"])
    browser.find("#login-password").send_keys(agent["password"])
    browser.clickable("form.login button[type=submit]").click()
    switch = browser.clickable("button.switch")
    if available:
        switch.click()
        browser.text_appears("button.switch", "Available")


def open_widget(browser: Browser, url: str) -> None:
    """Loads a host page, opens the widget and switches into its frame."""
    browser.driver.get(url)
    browser.clickable("#confidant-widget > button").click()
    frame = browser.visible("#confidant-widget iframe")
    browser.driver.switch_to.frame(frame)
    browser.find(".header-title")


def agent_and_visitor(server, owner, host, browsers, agent_name: str, path: str):
    """A new site, an agent signed in to the console and available, and a visitor on a host page
    with the widget open. Returns (site, agent browser, visitor browser)."""
    site = new_site(owner, host)
    account = new_agent(owner, agent_name)
    agent = browsers()
    console_login(agent, server, account)
    visitor = browsers()
    open_widget(visitor, host.embed(path, server, site["widgetKey"]))
    return site, agent, visitor


def busy_agent_and_waiting_visitor(server, owner, host, browsers, agent_name: str, path: str):
    """An agent with a limit of one, busy with a first visitor, and a second visitor waiting in
    the queue. Returns (agent account, agent browser, first visitor, second visitor)."""
    site = new_site(owner, host)
    account = new_agent(owner, agent_name, limit=1)
    agent = browsers()
    console_login(agent, server, account)
    first, second = browsers(), browsers()
    open_widget(first, host.embed(f"{path}-1", server, site["widgetKey"]))
    say(first, "I was first")
    agent.text_appears(".sidebar", "I was first")
    open_widget(second, host.embed(f"{path}-2", server, site["widgetKey"]))
    say(second, "I am second")
    second.text_appears(".banner", "in the queue")
    return account, agent, first, second


def say(visitor: Browser, text: str) -> None:
    """Types a message in the widget and sends it with Enter."""
    box = visitor.find("#message")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
