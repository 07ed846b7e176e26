// The inbox: the queue, the agent's conversations (several at once), the active conversation
// with its composer, and the visitor's details. Everything arrives live over the agent socket.
import { append, clock, el, elapsed, initials, replace, richText } from '/shared/dom.js';
import { icon } from '/shared/icons.js';
import { chime } from '/shared/sound.js';
import { api } from '/console/api.js';
import { messageRow, systemText, verifiedBadge, visitorName } from '/console/render.js';
import { nameOf } from '/console/store.js';

export class Inbox {
  constructor(store) {
    this.store = store;
    this.conversations = new Map();
    this.queues = new Map();
    this.activeId = null;
    this.noteMode = false;
    this.canned = [];
    this.muted = false;
    this.ui = null;
    setInterval(() => this.tickWaits(), 1000);
    document.addEventListener('visibilitychange', () => this.markRead());
  }

  get socket() {
    return this.store.socket;
  }

  // MARK: Protocol

  welcome(frame) {
    for (const summary of frame.conversations) this.adopt(summary);
    this.queues.clear();
    for (const entry of frame.queue ?? []) {
      const key = entry.departmentId ?? 'general';
      if (!this.queues.has(key)) this.queues.set(key, []);
      this.queues.get(key).push(entry);
    }
    if (this.store.permissions.has('readCannedResponses')) api('GET', '/v1/canned-responses').then((list) => { this.canned = list.items; }).catch(() => {});
    this.renderSidebar();
    this.renderConversation();
  }

  receive(frame) {
    const me = this.store.me.id;
    switch (frame.type) {
      case 'queue':
        this.queues.set(frame.departmentId ?? 'general', frame.entries);
        this.renderSidebar();
        break;
      case 'conversation.assigned':
      case 'conversation.transferred': {
        const mine = frame.agent?.id === me;
        const known = this.conversations.get(frame.conversationId);
        if (mine && !known) {
          this.fetchAndAdopt(frame.conversationId, true);
        } else if (known) {
          this.addEntry(known, frame);
          if (!mine && frame.type === 'conversation.transferred') {
            known.summary.state = frame.agent ? 'active' : 'queued';
            known.transferredAway = true;
          }
          this.renderSidebar();
          if (this.activeId === known.summary.id) this.renderConversation();
        }
        break;
      }
      case 'message':
      case 'conversation.closed':
      case 'conversation.rated': {
        const conversation = this.conversations.get(frame.conversationId);
        if (!conversation) return;
        this.addEntry(conversation, frame);
        if (frame.type === 'conversation.closed') conversation.summary.state = 'closed';
        if (frame.type === 'message' && frame.author.kind === 'visitor') this.alert(conversation, 'New message', 'A visitor wrote to you.');
        this.renderSidebar();
        if (this.activeId === conversation.summary.id) this.renderConversation();
        break;
      }
      case 'typing': {
        const conversation = this.conversations.get(frame.conversationId);
        if (!conversation || frame.author.kind !== 'visitor') return;
        conversation.typing = frame.active;
        clearTimeout(conversation.typingTimer);
        if (frame.active) conversation.typingTimer = setTimeout(() => { conversation.typing = false; this.renderTyping(); }, 6000);
        this.renderTyping();
        break;
      }
      case 'read': {
        const conversation = this.conversations.get(frame.conversationId);
        if (!conversation || frame.reader.kind !== 'visitor') return;
        conversation.visitorReadSeq = Math.max(conversation.visitorReadSeq, frame.seq);
        if (this.activeId === conversation.summary.id) this.renderMessages();
        break;
      }
    }
  }

  async fetchAndAdopt(id, announce) {
    try {
      const { conversation } = await api('GET', `/v1/conversations/${id}`);
      const adopted = this.adopt(conversation);
      if (announce) this.alert(adopted, 'New conversation', 'A visitor is waiting for you.');
      if (!this.activeId) this.activate(id);
      this.renderSidebar();
    } catch {
      // It was taken away again before we could read it.
    }
  }

  /** Starts following a conversation and reads its whole timeline. */
  adopt(summary) {
    let conversation = this.conversations.get(summary.id);
    if (!conversation) {
      conversation = { summary, entries: new Map(), pending: new Map(), unread: 0, typing: false, visitorReadSeq: summary.visitorReadSeq ?? 0 };
      this.conversations.set(summary.id, conversation);
      this.socket.sync(summary.id, 0).then(() => {
        if (this.activeId === summary.id) this.renderConversation();
        this.renderSidebar();
      }).catch(() => {});
    } else {
      conversation.summary = { ...conversation.summary, ...summary };
      conversation.visitorReadSeq = Math.max(conversation.visitorReadSeq, summary.visitorReadSeq ?? 0);
      conversation.transferredAway = false;
    }
    return conversation;
  }

  addEntry(conversation, frame) {
    if (conversation.entries.has(frame.seq)) return;
    conversation.entries.set(frame.seq, frame);
    if (frame.type === 'message' && frame.author.kind === 'visitor') {
      const visible = this.activeId === conversation.summary.id && document.visibilityState === 'visible' && this.ui;
      if (visible) this.markRead();
      else conversation.unread += 1;
    }
  }

  alert(conversation, title, body) {
    const fresh = [...conversation.entries.values()].every((entry) => entry.createdAt > Date.now() - 60000);
    if (!this.muted && fresh) chime();
    if (document.visibilityState !== 'visible' && 'Notification' in window && Notification.permission === 'granted') {
      // The notification names no visitor and quotes no message: it may show on a shared screen.
      new Notification(title, { body, tag: `confidant-${conversation.summary.id}` });
    }
  }

  markRead() {
    const conversation = this.conversations.get(this.activeId);
    if (!conversation || document.visibilityState !== 'visible' || !this.ui) return;
    conversation.unread = 0;
    const latest = Math.max(0, ...conversation.entries.keys());
    if (latest > (conversation.readSent ?? 0)) {
      conversation.readSent = latest;
      this.socket.send({ type: 'read', conversationId: conversation.summary.id, seq: latest });
    }
  }

  // MARK: Actions

  activate(id) {
    this.activeId = id;
    this.markRead();
    this.renderSidebar();
    this.renderConversation();
    this.ui?.input?.focus();
  }

  async accept(id) {
    try {
      await this.socket.request({ type: 'conversation.accept', conversationId: id });
      await this.fetchAndAdopt(id, false);
      this.activate(id);
    } catch (error) {
      this.flash(error.message);
    }
  }

  send() {
    const conversation = this.conversations.get(this.activeId);
    const body = this.ui.input.value.trim();
    if (!conversation || !body) return;
    const visibility = this.noteMode ? 'internal' : 'public';
    const { clientId, ack } = this.socket.sendMessage(conversation.summary.id, body, visibility);
    conversation.pending.set(clientId, { body, visibility, createdAt: Date.now() });
    this.ui.input.value = '';
    this.closeSuggestions();
    this.stopTyping(conversation);
    this.renderMessages();
    ack.then((frame) => {
      conversation.pending.delete(clientId);
      // The ack carries the body as stored when something in it was masked: show that.
      conversation.entries.set(frame.seq, {
        type: 'message', conversationId: frame.conversationId, id: frame.messageId, seq: frame.seq, clientId, body: frame.body ?? body,
        redactions: frame.redactions, visibility,
        createdAt: frame.createdAt, author: { kind: 'agent', id: this.store.me.id, name: this.store.me.displayName },
      });
      if (this.activeId === conversation.summary.id) this.renderMessages();
      this.renderSidebar();
    }, (error) => {
      conversation.pending.delete(clientId);
      this.ui.input.value = body;
      this.renderMessages();
      this.flash(error.message);
    });
  }

  async closeConversation() {
    const conversation = this.conversations.get(this.activeId);
    if (!conversation) return;
    try {
      await this.socket.request({ type: 'conversation.close', conversationId: conversation.summary.id });
    } catch (error) {
      this.flash(error.message);
    }
  }

  dismiss(id) {
    this.conversations.delete(id);
    if (this.activeId === id) this.activeId = [...this.conversations.keys()][0] ?? null;
    this.renderSidebar();
    this.renderConversation();
  }

  openTransfer() {
    const conversation = this.conversations.get(this.activeId);
    if (!conversation || conversation.summary.state === 'closed') return;
    const target = el('select', { id: 'transfer-target', required: true });
    const agents = el('optgroup', { label: 'Agents (online and available)' });
    for (const agent of this.store.agents.values()) {
      if (agent.id === this.store.me.id || !agent.active || !agent.online || agent.availability !== 'available') continue;
      agents.append(el('option', { value: `agent:${agent.id}`, text: agent.displayName }));
    }
    const departments = el('optgroup', { label: 'Departments (back to their queue)' });
    for (const department of this.store.departments.values()) departments.append(el('option', { value: `department:${department.id}`, text: department.name }));
    append(target, [agents.childElementCount ? agents : null, departments.childElementCount ? departments : null]);
    const error = el('p', { class: 'error', role: 'alert' });
    const dialog = el('dialog', { 'aria-labelledby': 'transfer-title' });
    dialog.append(el('form', {
      method: 'dialog',
      onsubmit: async (event) => {
        event.preventDefault();
        const [kind, id] = target.value.split(':');
        try {
          await this.socket.request({ type: 'conversation.transfer', conversationId: conversation.summary.id, [kind === 'agent' ? 'toAgentId' : 'toDepartmentId']: id });
          dialog.close();
        } catch (failure) {
          error.textContent = failure.message;
        }
      },
    },
    el('h2', { id: 'transfer-title', text: 'Transfer conversation' }),
    el('label', { class: 'field', for: 'transfer-target' }, 'To', target),
    error,
    el('div', { class: 'inline' },
      el('button', { class: 'primary', type: 'submit', text: 'Transfer' }),
      el('button', { class: 'secondary', type: 'button', onclick: () => dialog.close(), text: 'Cancel' }))));
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }

  toggleNote() {
    this.noteMode = !this.noteMode;
    this.renderComposerMode();
    this.ui?.input?.focus();
  }

  typed(conversation) {
    const now = Date.now();
    if (!conversation.typingSentAt || now - conversation.typingSentAt > 3000) {
      conversation.typingSentAt = now;
      this.socket.send({ type: 'typing', conversationId: conversation.summary.id, active: true, visibility: this.noteMode ? 'internal' : 'public' });
    }
    clearTimeout(conversation.typingStop);
    conversation.typingStop = setTimeout(() => this.stopTyping(conversation), 4000);
  }

  stopTyping(conversation) {
    clearTimeout(conversation.typingStop);
    if (conversation.typingSentAt) {
      this.socket.send({ type: 'typing', conversationId: conversation.summary.id, active: false, visibility: this.noteMode ? 'internal' : 'public' });
    }
    conversation.typingSentAt = 0;
  }

  /** Keyboard shortcuts (documented in the `?` dialog). */
  shortcut(event) {
    if (!this.ui) return;
    const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement?.tagName);
    if (event.key === '?' && !typing) {
      event.preventDefault();
      this.showShortcuts();
      return;
    }
    if (!event.altKey || event.ctrlKey || event.metaKey) return;
    const ids = this.orderedIds();
    const index = ids.indexOf(this.activeId);
    const handlers = {
      ArrowDown: () => ids.length && this.activate(ids[(index + 1) % ids.length]),
      ArrowUp: () => ids.length && this.activate(ids[(index - 1 + ids.length) % ids.length]),
      n: () => this.toggleNote(),
      a: () => { const oldest = this.oldestQueued(); if (oldest) this.accept(oldest.conversationId); },
      t: () => this.openTransfer(),
      w: () => this.closeConversation(),
      m: () => { this.muted = !this.muted; this.renderSidebar(); },
    };
    const handler = handlers[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (handler) {
      event.preventDefault();
      handler();
    }
  }

  showShortcuts() {
    const dialog = el('dialog', { 'aria-labelledby': 'shortcuts-title' });
    const rows = [['Alt+↓ / Alt+↑', 'Next / previous conversation'], ['Alt+N', 'Reply / internal note'], ['Alt+A', 'Accept the oldest waiting visitor'],
      ['Alt+T', 'Transfer'], ['Alt+W', 'Close the conversation'], ['Alt+M', 'Sounds on / off'], ['/shortcut', 'Insert a canned response'],
      ['Enter / Shift+Enter', 'Send / new line'], ['?', 'This help']];
    dialog.append(el('form', { method: 'dialog' },
      el('h2', { id: 'shortcuts-title', text: 'Keyboard shortcuts' }),
      el('dl', { class: 'details shortcuts' }, rows.map(([keys, what]) => [el('dt', { text: keys }), el('dd', { text: what })])),
      el('button', { class: 'primary', type: 'submit', text: 'Close' })));
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }

  flash(message) {
    if (this.ui) this.ui.error.textContent = message;
  }

  // MARK: Canned responses

  suggest() {
    const value = this.ui.input.value;
    const match = /^\/([a-z0-9_-]*)$/i.exec(value);
    if (!match) return this.closeSuggestions();
    const prefix = match[1].toLowerCase();
    this.matches = this.canned.filter((canned) => canned.shortcut.startsWith(prefix)).slice(0, 8);
    if (!this.matches.length) return this.closeSuggestions();
    this.selected = 0;
    this.renderSuggestions();
  }

  renderSuggestions() {
    const list = el('ul', { class: 'suggestions', role: 'listbox', id: 'canned-suggestions', 'aria-label': 'Canned responses' });
    this.matches.forEach((canned, index) => {
      list.append(el('li', {
        role: 'option', 'aria-selected': String(index === this.selected), id: `canned-${index}`,
        onmousedown: (event) => { event.preventDefault(); this.insertCanned(canned); },
      }, el('span', { class: 'shortcut', text: `/${canned.shortcut}` }), el('span', { text: canned.body.length > 80 ? canned.body.slice(0, 79) + '…' : canned.body })));
    });
    this.ui.suggestions?.remove();
    this.ui.suggestions = list;
    this.ui.composer.prepend(list);
    this.ui.input.setAttribute('aria-activedescendant', `canned-${this.selected}`);
  }

  closeSuggestions() {
    this.matches = [];
    this.ui?.suggestions?.remove();
    if (this.ui) this.ui.suggestions = null;
    this.ui?.input?.removeAttribute('aria-activedescendant');
  }

  insertCanned(canned) {
    this.ui.input.value = canned.body;
    this.closeSuggestions();
    this.ui.input.focus();
  }

  composerKey(event) {
    if (this.matches?.length) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        this.selected = (this.selected + (event.key === 'ArrowDown' ? 1 : this.matches.length - 1)) % this.matches.length;
        this.renderSuggestions();
        return;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        this.insertCanned(this.matches[this.selected]);
        return;
      }
      if (event.key === 'Escape') {
        this.closeSuggestions();
        return;
      }
    }
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !event.altKey) {
      event.preventDefault();
      this.send();
    }
  }

  // MARK: Rendering

  mount(main) {
    this.ui = {
      sidebar: el('aside', { class: 'sidebar', 'aria-label': 'Queue and conversations' }),
      conversation: el('section', { class: 'conversation', 'aria-label': 'Conversation' }),
      details: el('aside', { class: 'details', 'aria-label': 'Visitor details' }),
    };
    replace(main, this.ui.sidebar, this.ui.conversation, this.ui.details);
    this.renderSidebar();
    this.renderConversation();
  }

  unmount() {
    this.ui = null;
  }

  orderedIds() {
    return [...this.conversations.values()].sort((a, b) => a.summary.createdAt - b.summary.createdAt).map((conversation) => conversation.summary.id);
  }

  queueEntries() {
    return [...this.queues.values()].flat().sort((a, b) => a.queuedAt - b.queuedAt);
  }

  oldestQueued() {
    return this.queueEntries()[0];
  }

  renderSidebar() {
    if (!this.ui) return;
    const queue = this.queueEntries();
    const queueList = el('ul', { class: 'list', 'aria-label': 'Waiting visitors' });
    for (const entry of queue) {
      queueList.append(el('li', {},
        el('div', { class: 'item', dataset: { queued: entry.conversationId } },
          el('div', { class: 'avatar', 'aria-hidden': 'true', text: '…' }),
          el('div', { class: 'grow' },
            el('div', { class: 'title', text: `${nameOf('site', entry.siteId)} visitor` }),
            el('div', { class: 'sub' }, `${nameOf('department', entry.departmentId)} · waiting `, el('span', { class: 'wait', dataset: { since: String(entry.queuedAt) }, text: elapsed(entry.queuedAt) }))),
          el('button', { class: 'secondary', type: 'button', onclick: () => this.accept(entry.conversationId), text: 'Accept', 'aria-label': `Accept conversation waiting since ${clock(entry.queuedAt)}` }))));
    }
    const mine = el('ul', { class: 'list', 'aria-label': 'My conversations' });
    for (const id of this.orderedIds()) {
      const conversation = this.conversations.get(id);
      const summary = conversation.summary;
      const last = [...conversation.entries.values()].filter((entry) => entry.type === 'message').sort((a, b) => b.seq - a.seq)[0];
      const status = summary.state === 'closed' ? 'Closed' : conversation.transferredAway ? 'Transferred away' : last ? last.body : 'New conversation';
      const closed = summary.state === 'closed' || conversation.transferredAway;
      mine.append(el('li', {},
        el('button', {
          class: `item ${closed ? 'closed' : ''}`, type: 'button', 'aria-current': String(id === this.activeId), dataset: { conversation: id },
          onclick: () => this.activate(id),
        },
        el('div', { class: 'avatar', 'aria-hidden': 'true', text: initials(visitorName(summary)) }),
        el('div', { class: 'grow' }, el('div', { class: 'title', text: visitorName(summary) }), el('div', { class: 'sub', text: status.length > 60 ? status.slice(0, 59) + '…' : status })),
        conversation.unread ? el('span', { class: 'badge', 'aria-label': `${conversation.unread} unread`, text: String(conversation.unread) }) : null)));
    }
    replace(this.ui.sidebar,
      el('div', { class: 'section-title' }, el('span', { text: `Waiting (${queue.length})` })),
      queue.length ? queueList : el('p', { class: 'empty', text: 'Nobody is waiting.' }),
      el('div', { class: 'section-title' }, el('span', { text: `My conversations (${this.conversations.size})` }),
        el('button', { class: 'secondary', type: 'button', onclick: () => { this.muted = !this.muted; this.renderSidebar(); }, 'aria-pressed': String(this.muted), title: 'Sounds on/off (Alt+M)' }, icon(this.muted ? 'bellOff' : 'bell', 14))),
      this.conversations.size ? mine : el('p', { class: 'empty', text: 'Go available to receive conversations, or accept one from the queue.' }));
    document.title = queue.length ? `(${queue.length}) Confidant console` : 'Confidant console';
  }

  tickWaits() {
    if (!this.ui) return;
    for (const node of this.ui.sidebar.querySelectorAll('.wait')) node.textContent = elapsed(Number(node.dataset.since));
  }

  renderConversation() {
    if (!this.ui) return;
    const conversation = this.conversations.get(this.activeId);
    if (!conversation) {
      replace(this.ui.conversation, el('p', { class: 'placeholder', text: 'No conversation selected. Press ? for keyboard shortcuts.' }));
      replace(this.ui.details);
      this.ui.input = null;
      return;
    }
    const summary = conversation.summary;
    const closed = summary.state === 'closed' || conversation.transferredAway;
    const actions = closed
      ? [el('button', { class: 'secondary', type: 'button', onclick: () => this.dismiss(summary.id), text: 'Done' })]
      : [el('button', { class: 'secondary', type: 'button', onclick: () => this.openTransfer(), title: 'Transfer (Alt+T)' }, icon('transfer', 16), 'Transfer'),
        el('button', { class: 'secondary', type: 'button', id: 'ban-visitor', onclick: () => this.banVisitor(summary), title: 'Ban this visitor for 30 days' }, 'Ban'),
        el('button', { class: 'danger', type: 'button', onclick: () => this.closeConversation(), title: 'Close (Alt+W)' }, icon('check', 16), 'Close')];
    this.ui.messages = el('div', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' });
    this.ui.typing = el('div', { class: 'typing', 'aria-live': 'polite' });
    this.ui.error = el('p', { class: 'error', role: 'alert' });
    const parts = [
      el('header', { class: 'conversation-header' },
        el('div', { class: 'avatar', 'aria-hidden': 'true', text: initials(visitorName(summary)) }),
        el('div', { class: 'grow' }, el('h2', {}, visitorName(summary), ' ', verifiedBadge(summary)),
          el('div', { class: 'sub', text: `${nameOf('site', summary.siteId)} · ${nameOf('department', summary.departmentId)} · ${summary.state}` })),
        el('div', { class: 'spacer' }), actions),
      this.ui.messages, this.ui.typing,
    ];
    if (!closed) parts.push(this.buildComposer(conversation));
    else this.ui.input = null;
    parts.push(el('div', { class: 'composer-error' }, this.ui.error));
    replace(this.ui.conversation, parts);
    this.renderMessages();
    this.renderTyping();
    this.renderDetails(summary);
  }

  /** Bans the visitor for 30 days (abuse, spam): the conversation closes and they cannot chat. */
  async banVisitor(summary) {
    if (!confirm(`Ban ${visitorName(summary)} for 30 days? The conversation closes and they cannot start another.`)) return;
    try {
      await api('POST', `/v1/conversations/${summary.id}/ban`, { reason: `Banned by ${this.store.me.displayName}`, days: 30 });
    } catch (error) {
      if (this.ui?.error) this.ui.error.textContent = error.message;
    }
  }

  buildComposer(conversation) {
    this.ui.input = el('textarea', { id: 'composer', 'aria-label': 'Reply', rows: '3', maxlength: '4000', placeholder: 'Reply… (type / for canned responses)', 'aria-controls': 'canned-suggestions' });
    this.ui.input.addEventListener('keydown', (event) => this.composerKey(event));
    this.ui.input.addEventListener('input', () => { this.suggest(); this.typed(conversation); });
    this.ui.input.addEventListener('blur', () => this.closeSuggestions());
    this.ui.noteToggle = el('button', { class: 'secondary', type: 'button', onclick: () => this.toggleNote(), title: 'Internal note (Alt+N)' }, icon('note', 16), 'Internal note');
    this.ui.hint = el('span', { class: 'hint' });
    this.ui.composer = el('div', { class: 'composer' }, this.ui.input,
      el('div', { class: 'tools' },
        el('button', { class: 'primary', type: 'button', onclick: () => this.send() }, icon('send', 16), 'Send'),
        this.ui.noteToggle, this.ui.hint));
    this.renderComposerMode();
    return this.ui.composer;
  }

  renderComposerMode() {
    if (!this.ui?.composer) return;
    this.ui.composer.classList.toggle('note-mode', this.noteMode);
    this.ui.noteToggle.setAttribute('aria-pressed', String(this.noteMode));
    this.ui.input.placeholder = this.noteMode ? 'Internal note — only staff will see this' : 'Reply… (type / for canned responses)';
    this.ui.input.setAttribute('aria-label', this.noteMode ? 'Internal note' : 'Reply');
    this.ui.hint.textContent = this.noteMode ? 'The visitor will not see this note.' : 'Enter to send, Shift+Enter for a new line';
  }

  renderMessages() {
    const conversation = this.conversations.get(this.activeId);
    if (!this.ui?.messages || !conversation) return;
    const rows = [];
    for (const entry of [...conversation.entries.values()].sort((a, b) => a.seq - b.seq)) {
      if (entry.type === 'message') rows.push(messageRow(entry, entry.author.kind === 'agent' && entry.visibility === 'public' && entry.seq <= conversation.visitorReadSeq ? 'Read' : null));
      else rows.push(el('p', { class: 'system', text: systemText(entry) }));
    }
    for (const pending of conversation.pending.values()) {
      rows.push(messageRow({ ...pending, author: { kind: 'agent', name: this.store.me.displayName } }, 'Sending…'));
    }
    replace(this.ui.messages, rows);
    this.ui.messages.scrollTop = this.ui.messages.scrollHeight;
  }

  renderTyping() {
    const conversation = this.conversations.get(this.activeId);
    if (this.ui?.typing) this.ui.typing.textContent = conversation?.typing ? `${visitorName(conversation.summary)} is typing…` : '';
  }

  renderDetails(summary) {
    const verified = summary.verifiedVisitor;
    const rows = [
      ...(verified ? [['Verified user', verified.userId], ['Verified e-mail', verified.email ?? '—'], ['Verified name', verified.name ?? '—']] : []),
      ['Name', summary.visitorName ?? '—'], ['E-mail', summary.visitorEmail ?? '—'], ['Site', nameOf('site', summary.siteId)],
      ['Department', nameOf('department', summary.departmentId)], ['Language', summary.language ?? '—'],
      ['Started', new Date(summary.createdAt).toLocaleString()], ['Consent', summary.consentAt ? new Date(summary.consentAt).toLocaleString() : '—'],
    ];
    const page = summary.pageUrl ? richText(summary.pageUrl) : '—';
    replace(this.ui.details,
      el('h3', { text: 'Visitor' }),
      el('dl', {}, rows.map(([term, value]) => [el('dt', { text: term }), el('dd', { text: value })]), el('dt', { text: 'Page' }), el('dd', {}, page)));
  }
}
