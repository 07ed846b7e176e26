"""The console beyond the inbox: the team at a glance, history with transcripts, admin pages and
keyboard shortcuts."""
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from conftest import agent_and_visitor, busy_agent_and_waiting_visitor, console_login, new_agent, new_site, open_widget, unique
from test_chat import agent_says, visitor_says


def manager_login(browser, server, owner_api):
    console_login(browser, server, {"email": server.owner_email, "password": server.owner_password}, available=False)


def test_team_page_shows_every_agents_load_and_the_queue(server, owner, host, browsers):
    nora, _, _, _ = busy_agent_and_waiting_visitor(server, owner, host, browsers, "Nora Lind", "/team")

    manager = browsers()
    manager_login(manager, server, owner)
    manager.clickable('nav button[data-page="team"]').click()
    row = f'tr[data-agent="{nora["id"]}"]'
    manager.text_appears(row, "1 / 1")
    manager.text_appears(row, "online")
    manager.text_appears(row, "available")
    manager.text_appears(".page", "Queue (")
    assert "Nobody is waiting" not in manager.find(".page").text
    manager.screenshot("console-team")


def test_history_filters_and_transcript(server, owner, host, browsers):
    site, agent, visitor = agent_and_visitor(server, owner, host, browsers, "Omar Diaz", "/history")
    visitor_says(visitor, "A question for the archive")
    agent.clickable(".sidebar button.item").click()
    agent_says(agent, "An answer for the archive")
    agent.clickable(".conversation-header .danger").click()
    agent.text_appears(".conversation-header", "closed")
    agent.clickable('nav button[data-page="history"]').click()
    Select(agent.find("#filter-state")).select_by_value("closed")
    Select(agent.find("#filter-site")).select_by_visible_text(site["name"])
    agent.clickable(".filters button[type=submit]").click()
    agent.wait().until(lambda _: len(agent.driver.find_elements(By.CSS_SELECTOR, "tr.clickable")) == 1)
    agent.clickable("tr.clickable").click()
    agent.text_appears(".transcript", "A question for the archive")
    agent.text_appears(".transcript", "An answer for the archive")
    agent.text_appears(".transcript", "Closed by Omar Diaz")
    agent.screenshot("console-history")


def test_admin_pages_manage_departments_staff_canned_responses_and_sites(server, owner, host, browsers):
    site = new_site(owner, host)
    manager = browsers()
    manager_login(manager, server, owner)
    manager.clickable('nav button[data-page="admin"]').click()

    manager.clickable("#tab-departments").click()
    department = unique("Support")
    manager.find("#new-department").send_keys(department)
    manager.clickable("#new-department ~ button, form.card.inline button[type=submit]").click()
    manager.text_appears(".notice", "Department created.")

    manager.clickable("#tab-agents").click()
    email = f"{unique('pia')}@example.com"
    manager.find("#new-agent-email").send_keys(email)
    manager.find("#new-agent-name").send_keys("Pia Moreau")
    manager.find("#new-agent-password").send_keys("password-of-pia")
    manager.find("#new-agent-limit").clear()
    manager.find("#new-agent-limit").send_keys("2")
    for box in manager.driver.find_elements(By.CSS_SELECTOR, "input[id^='new-agent-department']"):
        if box.find_element(By.XPATH, "..").text == department:
            box.click()
    manager.clickable("form.card.stack button[type=submit]").click()
    manager.text_appears(".notice", "Account created.")
    status, agents, _ = owner.call("GET", "/v1/agents")
    pia = next(agent for agent in agents["items"] if agent["email"] == email)
    assert pia["maxConversations"] == 2 and len(pia["departments"]) == 1
    manager.clickable(f'tr[data-agent="{pia["id"]}"] .danger').click()
    manager.text_appears(".notice", "Deactivated.")
    status, agents, _ = owner.call("GET", f"/v1/agents/{pia['id']}")
    assert agents["active"] is False

    manager.clickable("#tab-canned").click()
    manager.find("#new-canned-shortcut").send_keys("refund")
    manager.find("#new-canned-body").send_keys("Refunds arrive within 5 working days.")
    manager.clickable("form.card.stack button[type=submit]").click()
    manager.text_appears(".notice", "Created.")
    status, canned, _ = owner.call("GET", "/v1/canned-responses")
    assert any(item["shortcut"] == "refund" for item in canned["items"])

    manager.clickable("#tab-sites").click()
    card = manager.find(f'form[data-site="{site["id"]}"]')
    Select(card.find_element(By.CSS_SELECTOR, "select[id$='-language']")).select_by_value("es")
    card.find_element(By.CSS_SELECTOR, "input[id$='-greeting']").send_keys("¡Bienvenido!")
    card.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    manager.text_appears(".notice", "Saved.")
    status, saved, _ = owner.call("GET", f"/v1/sites/{site['id']}")
    assert saved["settings"]["language"] == "es" and saved["settings"]["greeting"] == "¡Bienvenido!"
    snippet = manager.find(f'form[data-site="{site["id"]}"] textarea.snippet').get_attribute("value")
    assert snippet == f'<script src="{server.url}/widget.js" data-site="{site["widgetKey"]}" async></script>'
    manager.screenshot("console-admin")


def test_keyboard_shortcuts(server, owner, host, browsers):
    site = new_site(owner, host)
    rita = new_agent(owner, "Rita Cole", limit=1)
    quinn = new_agent(owner, "Quinn Abe", limit=1)
    busy, agent = browsers(), browsers()
    console_login(busy, server, rita)
    console_login(agent, server, quinn, available=False)
    first, second = browsers(), browsers()
    open_widget(first, host.embed("/keys-1", server, site["widgetKey"]))
    visitor_says(first, "Rita takes me")
    busy.text_appears(".sidebar", "Rita takes me")
    # Rita is at her limit and Quinn is away: the next visitor waits, and Quinn takes them with Alt+A.
    open_widget(second, host.embed("/keys-2", server, site["widgetKey"]))
    visitor_says(second, "Anyone there?")
    agent.find(".sidebar [data-queued]")
    agent.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ALT, "a")
    agent.text_appears(".messages", "Anyone there?")
    second.text_appears(".header-title", "Quinn Abe")
    agent.find("#composer").send_keys(Keys.ALT, "n")
    agent.find(".composer.note-mode")
    agent.find("#composer").send_keys(Keys.ALT, "n")
    assert not agent.driver.find_elements(By.CSS_SELECTOR, ".composer.note-mode")
    # Alt+W closes the conversation; ? lists the shortcuts.
    agent.find("#composer").send_keys(Keys.ALT, "w")
    second.text_appears(".body", "This conversation has ended.")
    agent.driver.find_element(By.TAG_NAME, "body").send_keys("?")
    agent.text_appears("dialog", "Keyboard shortcuts")
