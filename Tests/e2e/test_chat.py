"""A visitor in the widget and agents in the console, chatting in real browsers."""
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import agent_and_visitor, console_login, new_agent, new_site, open_widget
from conftest import say as visitor_says


def agent_says(agent, text):
    box = agent.find("#composer")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def test_visitor_and_agent_chat_both_ways_with_typing_and_read_states(server, owner, host, browsers):
    _, agent, visitor = agent_and_visitor(server, owner, host, browsers, "Anna Kovács", "/both-ways")
    visitor.text_appears(".greeting", "How can we help")
    visitor.screenshot("widget-open")

    visitor_says(visitor, "Hi! Where is my order 1042?")
    # The conversation reaches Anna live; the widget shows her as the agent.
    agent.text_appears(".sidebar .item .title", "Visitor")
    agent.clickable(".sidebar button.item").click()
    agent.text_appears(".messages .row.visitor .bubble", "Where is my order 1042?")
    visitor.text_appears(".header-title", "Anna Kovács")
    # Anna has it open, so the visitor's message turns "Read".
    visitor.text_appears(".message.out .message-meta", "Read")

    # Anna types: the visitor sees it; she answers.
    agent.find("#composer").send_keys("Let me")
    visitor.text_appears(".typing", "Anna Kovács is typing")
    agent_says(agent, " check that for you.")
    visitor.text_appears(".message.in .bubble-in", "Let me check that for you.")
    # The visitor types back: Anna sees it.
    visitor.find("#message").send_keys("Thank")
    agent.text_appears(".typing", "is typing")
    visitor.find("#message").send_keys(" you!", Keys.ENTER)
    agent.text_appears(".messages", "Thank you!")
    # The widget is open and visible, so Anna's reply shows as read in the console.
    agent.text_appears(".row.agent .meta", "Read")
    visitor.screenshot("widget-chatting")
    agent.screenshot("console-chatting")


def test_an_agent_handles_two_visitors_at_once(server, owner, host, browsers):
    site = new_site(owner, host)
    ben = new_agent(owner, "Ben Ortiz", limit=3)
    agent = browsers()
    console_login(agent, server, ben)
    first, second = browsers(), browsers()
    open_widget(first, host.embed("/first", server, site["widgetKey"]))
    open_widget(second, host.embed("/second", server, site["widgetKey"]))
    visitor_says(first, "First visitor here")
    agent.text_appears(".sidebar", "First visitor here")
    visitor_says(second, "Second visitor here")
    agent.text_appears(".sidebar", "Second visitor here")
    items = agent.driver.find_elements(By.CSS_SELECTOR, ".sidebar button.item")
    assert len(items) == 2
    # Each unread until opened; the active one is marked.
    agent.click_nth(".sidebar button.item", 0)
    agent.text_appears(".messages", "First visitor here")
    agent_says(agent, "Hello first!")
    agent.click_nth(".sidebar button.item", 1)
    agent.text_appears(".messages", "Second visitor here")
    agent_says(agent, "Hello second!")
    first.text_appears(".bubble-in", "Hello first!")
    second.text_appears(".bubble-in", "Hello second!")
    assert "Hello second!" not in first.find(".body").text
    assert "Hello first!" not in second.find(".body").text
    # A message to the conversation not shown raises its unread count.
    visitor_says(first, "Are you still there?")
    agent.text_appears(".sidebar .badge", "1")
    current = agent.driver.find_element(By.CSS_SELECTOR, '.sidebar button.item[aria-current="true"]').text
    assert "Second" in current or "Hello second" in current
    agent.screenshot("console-two-chats")


def test_internal_notes_and_canned_responses_stay_with_staff(server, owner, host, browsers):
    owner.create("/v1/canned-responses", {"shortcut": "thanks", "body": "Thank you for contacting us!"})
    _, agent, visitor = agent_and_visitor(server, owner, host, browsers, "Cara Lund", "/notes")
    visitor_says(visitor, "Hello")
    agent.clickable(".sidebar button.item").click()
    # Alt+N switches to an internal note; it looks different and never reaches the visitor.
    agent.find("#composer").send_keys(Keys.ALT, "n")
    agent.find(".composer.note-mode")
    agent_says(agent, "Customer seems in a hurry")
    agent.text_appears(".row.note .bubble", "Customer seems in a hurry")
    assert agent.find(".row.note .note-label").text.lower().startswith("internal note")
    agent.find("#composer").send_keys(Keys.ALT, "n")
    # Typing /tha offers the canned response; Enter inserts it.
    agent.find("#composer").send_keys("/tha")
    agent.text_appears(".suggestions", "/thanks")
    agent.find("#composer").send_keys(Keys.ENTER)
    assert agent.find("#composer").get_attribute("value") == "Thank you for contacting us!"
    agent.find("#composer").send_keys(Keys.ENTER)
    visitor.text_appears(".bubble-in", "Thank you for contacting us!")
    assert "Customer seems in a hurry" not in visitor.find(".body").text


def test_transfer_to_another_agent(server, owner, host, browsers):
    site = new_site(owner, host)
    dana, emil = new_agent(owner, "Dana Holm"), new_agent(owner, "Emil Varga")
    first_agent, second_agent = browsers(), browsers()
    console_login(first_agent, server, dana)
    visitor = browsers()
    open_widget(visitor, host.embed("/transfer", server, site["widgetKey"]))
    visitor_says(visitor, "I need billing help")
    first_agent.clickable(".sidebar button.item").click()
    console_login(second_agent, server, emil)
    first_agent.clickable(".conversation-header button.secondary").click()
    first_agent.find("#transfer-target")
    first_agent.wait().until(lambda _: any("Emil" in option.text for option in first_agent.driver.find_elements(By.CSS_SELECTOR, "#transfer-target option")))
    for option in first_agent.driver.find_elements(By.CSS_SELECTOR, "#transfer-target option"):
        if "Emil" in option.text:
            option.click()
    first_agent.clickable("dialog button[type=submit]").click()
    second_agent.text_appears(".sidebar", "I need billing help")
    visitor.text_appears(".header-title", "Emil Varga")
    first_agent.text_appears(".sidebar", "Transferred away")
    second_agent.clickable(".sidebar button.item").click()
    agent_says(second_agent, "Emil here, I can help.")
    visitor.text_appears(".bubble-in", "Emil here, I can help.")
