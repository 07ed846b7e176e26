// The visitor widget, running inside an iframe on Confidant's own origin: the host page's scripts
// cannot read it. It talks to the loader (widget.js on the host page) only through postMessage,
// with origins checked both ways, and to Confidant through the visitor WebSocket.
import { ChatSocket, ServerError } from '/shared/chat-socket.js';
import { append, clock, el, initials, replace, richText } from '/shared/dom.js';
import { icon } from '/shared/icons.js';
import { chime } from '/shared/sound.js';

const LANGUAGES = ['en', 'hu', 'es'];
const siteKey = new URLSearchParams(location.search).get('site') ?? '';
// The visitor token lives in sessionStorage, not a cookie: inside an iframe on another site a
// cookie is third-party and blocked by browsers, and memory alone would lose the conversation at
// every page change. sessionStorage is partitioned per top-level site and ends with the tab.
const tokenKey = `confidant.token.${siteKey}`;
const muteKey = 'confidant.muted';

const state = {
  config: null,
  t: {},
  lang: 'en',
  parentOrigin: null,
  pageUrl: null,
  socket: null,
  agentsOnline: true,
  view: 'loading',
  conversation: null,
  entries: new Map(),
  pending: new Map(),
  agentReadSeq: 0,
  lastReadSent: 0,
  queue: null,
  typingName: null,
  open: false,
  unread: 0,
  muted: sessionStorage.getItem(muteKey) === '1',
  rated: false,
  connection: 'connecting',
  error: null,
  rating: 0,
  /** The visitor's consent in force (from `welcome`), or null. */
  consent: null,
  notice: null,
};

const ui = {};

/** Translates a key, filling `{name}` placeholders. */
function t(key, values = {}) {
  const text = state.t[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ''));
}

// MARK: Start-up

async function start() {
  buildLayout();
  try {
    const response = await fetch(`/v1/widget/config?site=${encodeURIComponent(siteKey)}`, { credentials: 'omit' });
    if (!response.ok) throw new Error('unknown site');
    state.config = await response.json();
  } catch {
    state.t = await loadTranslations(chooseLanguage('auto'));
    showFatal(t('errorGeneric'));
    return;
  }
  const settings = state.config.settings;
  document.documentElement.style.setProperty('--accent', settings.color);
  state.lang = chooseLanguage(settings.language);
  document.documentElement.lang = state.lang;
  state.t = await loadTranslations(state.lang);
  document.title = t('title');
  document.getElementById('app').setAttribute('aria-label', t('title'));
  connectToParent();
  renderHeader();
  await hostMessage();
  await openSession();
}

async function loadTranslations(lang) {
  try {
    return await (await fetch(`/widget/i18n/${lang}.json`)).json();
  } catch {
    return {};
  }
}

function chooseLanguage(setting) {
  if (setting && setting !== 'auto') return setting;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'en';
}

/** The embedding page's origin, only if it is one of the site's allowed origins. */
function findParentOrigin() {
  const candidates = [location.ancestorOrigins?.[0]];
  try {
    if (document.referrer) candidates.push(new URL(document.referrer).origin);
  } catch {
    // No usable referrer.
  }
  return candidates.find((origin) => origin && state.config.allowedOrigins.includes(origin)) ?? null;
}

function connectToParent() {
  state.parentOrigin = findParentOrigin();
  window.addEventListener('message', (event) => {
    if (event.source !== window.parent || event.origin !== state.parentOrigin) return;
    const message = event.data;
    if (!message || typeof message !== 'object') return;
    if (message.type === 'confidant:host' && typeof message.url === 'string' && message.url.length <= 2048) {
      state.pageUrl = message.url;
      if (typeof message.identityToken === 'string' && message.identityToken.length <= 4096) state.identityToken = message.identityToken;
      state.hostKnown?.();
    } else if (message.type === 'confidant:identify' && typeof message.token === 'string' && message.token.length <= 4096) {
      // The customer signed in on the site after the page loaded: continue as them.
      state.identityToken = message.token;
      state.socket?.close();
      openSession();
    } else if (message.type === 'confidant:open') {
      state.open = true;
      setUnread(0);
      markRead();
      ui.input?.focus();
    } else if (message.type === 'confidant:hidden') {
      state.open = false;
    }
  });
  const settings = state.config.settings;
  toParent({
    type: 'confidant:ready',
    color: settings.color,
    position: settings.position,
    proactive: settings.proactive,
    labels: { open: t('openChat'), close: t('closeChat'), dismiss: t('dismiss'), title: t('title') },
  });
}

function toParent(message) {
  if (state.parentOrigin) window.parent.postMessage(message, state.parentOrigin);
}

/** Waits (briefly) for the host page's first message, which may carry an identity token. */
function hostMessage() {
  if (!state.parentOrigin) return Promise.resolve();
  return new Promise((resolve) => {
    state.hostKnown = resolve;
    setTimeout(resolve, 2000);
  });
}

async function openSession() {
  const body = { siteKey };
  const known = sessionStorage.getItem(tokenKey);
  if (known) body.token = known;
  if (state.identityToken) body.identityToken = state.identityToken;
  // A signed identity is spent once (its nonce): a reconnect goes on with the visitor token.
  state.identityToken = null;
  const response = await fetch('/v1/visitor/sessions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'omit',
  });
  if (!response.ok) {
    const code = (await response.json().catch(() => null))?.error?.code;
    if (code === 'invalid_identity_token') return openSession();
    if (code === 'identity_required') {
      // The site chats with signed-in customers only: say so, under the usual header.
      replace(ui.footer);
      replace(ui.body, el('p', { class: 'system', id: 'sign-in-required', text: t('signInRequired') }));
      return;
    }
    showFatal(t('errorGeneric'));
    return;
  }
  const session = await response.json();
  sessionStorage.setItem(tokenKey, session.token);
  const socket = new ChatSocket('/v1/ws/visitor', () => ({ token: sessionStorage.getItem(tokenKey) }));
  state.socket = socket;
  socket.addEventListener('state', (event) => {
    state.connection = event.detail;
    renderBanner();
  });
  socket.addEventListener('welcome', (event) => welcome(event.detail));
  socket.addEventListener('frame', (event) => receive(event.detail));
  socket.addEventListener('fatal', (event) => {
    if (event.detail === 4401) {
      // The token expired or the visitor was removed: start over with a fresh session.
      sessionStorage.removeItem(tokenKey);
      socket.close();
      openSession();
    } else {
      showFatal(t('errorGeneric'));
    }
  });
  socket.connect();
}

// MARK: Protocol

function welcome(frame) {
  state.agentsOnline = frame.agentsOnline !== false;
  state.consent = frame.consent ?? null;
  const conversation = frame.conversations[0];
  if (conversation) {
    const first = !state.conversation;
    setConversation(conversation);
    if (first) state.socket.sync(conversation.id, 0).catch(() => {});
  } else if (!state.conversation || state.conversation.state === 'closed') {
    if (state.view !== 'closed' && state.view !== 'offline-sent') setView(state.agentsOnline ? 'start' : 'offline');
  }
  renderBanner();
}

function setConversation(summary) {
  state.conversation = summary;
  state.agentReadSeq = Math.max(state.agentReadSeq, summary.agentReadSeq ?? 0);
  if (summary.state === 'queued') state.queue = { position: summary.queuePosition, expectedWaitSeconds: summary.expectedWaitSeconds };
  setView(summary.state === 'closed' ? 'closed' : 'chat');
}

function receive(frame) {
  const conversation = state.conversation;
  switch (frame.type) {
    case 'message':
    case 'conversation.assigned':
    case 'conversation.transferred':
    case 'conversation.closed':
    case 'conversation.rated':
      if (!conversation || frame.conversationId !== conversation.id) return;
      addEntry(frame);
      break;
    case 'typing':
      if (frame.author.kind === 'agent' && frame.conversationId === conversation?.id) {
        state.typingName = frame.active ? frame.author.name || t('agent') : null;
        clearTimeout(state.typingTimer);
        if (frame.active) state.typingTimer = setTimeout(() => { state.typingName = null; renderTyping(); }, 6000);
        renderTyping();
      }
      break;
    case 'read':
      if (frame.reader.kind === 'agent' && frame.conversationId === conversation?.id) {
        state.agentReadSeq = Math.max(state.agentReadSeq, frame.seq);
        renderMessages();
      }
      break;
    case 'queue.position':
      if (frame.conversationId === conversation?.id) {
        state.queue = { position: frame.position, expectedWaitSeconds: frame.expectedWaitSeconds };
        renderBanner();
      }
      break;
  }
}

function addEntry(frame) {
  if (state.entries.has(frame.seq)) return;
  state.entries.set(frame.seq, frame);
  const conversation = state.conversation;
  if (frame.type === 'conversation.assigned') {
    conversation.state = 'active';
    conversation.agent = frame.agent;
    state.queue = null;
  } else if (frame.type === 'conversation.transferred') {
    if (frame.agent) conversation.agent = frame.agent;
    else {
      conversation.state = 'queued';
      conversation.agent = null;
    }
  } else if (frame.type === 'conversation.closed') {
    conversation.state = 'closed';
    state.typingName = null;
    setView('closed');
  } else if (frame.type === 'conversation.rated') {
    state.rated = true;
    ui.end = null;
  } else if (frame.type === 'message' && frame.author.kind === 'agent') {
    state.typingName = null;
    const fresh = frame.createdAt > Date.now() - 60000;
    if (fresh && !state.muted) chime();
    if (!state.open || document.visibilityState !== 'visible') setUnread(state.unread + 1);
    else markRead();
  }
  renderHeader();
  renderBanner();
  renderMessages();
}

function setUnread(count) {
  state.unread = count;
  toParent({ type: 'confidant:unread', count });
}

/** Tells the agent how far the visitor has read, when the widget is open and visible. */
function markRead() {
  const conversation = state.conversation;
  if (!conversation || !state.open || document.visibilityState !== 'visible') return;
  const latest = Math.max(0, ...[...state.entries.keys()]);
  if (latest > state.lastReadSent) {
    state.lastReadSent = latest;
    state.socket.send({ type: 'read', conversationId: conversation.id, seq: latest });
  }
}

document.addEventListener('visibilitychange', markRead);

// MARK: Actions

async function startConversation(firstMessage) {
  const settings = state.config.settings;
  // The fill time counts only when there was a form to fill (the pre-chat fields).
  const payload = { type: 'conversation.open', language: state.lang, form: formSignals(ui.startTrap, ui.name || ui.email ? state.startShownAt : null) };
  if (state.pageUrl) payload.pageUrl = state.pageUrl;
  const name = ui.name?.value.trim();
  const email = ui.email?.value.trim();
  if (name) payload.name = name;
  if (email) payload.email = email;
  if (ui.consent) {
    if (!ui.consent.checked) {
      showError(t('consentNeeded'));
      return false;
    }
    payload.consent = true;
  }
  try {
    const reply = await state.socket.request(payload);
    if (payload.consent) state.consent = { version: settings.consent.version, givenAt: Date.now() };
    state.notice = null;
    setConversation(reply.conversation);
    send(firstMessage);
    return true;
  } catch (error) {
    if (error instanceof ServerError && error.code === 'no_agents_online') {
      state.agentsOnline = false;
      setView('offline');
      if (ui.offlineBody) ui.offlineBody.value = firstMessage;
    } else {
      showError(refusal(error) ?? (error.code === 'invalid_request' || error.code === 'invalid_frame' ? error.message : t('errorGeneric')));
    }
    return false;
  }
}

function send(body) {
  const conversation = state.conversation;
  const { clientId, ack } = state.socket.sendMessage(conversation.id, body);
  state.pending.set(clientId, { clientId, body, createdAt: Date.now(), status: 'sending' });
  renderMessages();
  ack.then((frame) => {
    state.pending.delete(clientId);
    // The ack carries the body as stored when something in it was masked: show that.
    state.entries.set(frame.seq, {
      type: 'message', seq: frame.seq, id: frame.messageId, clientId, body: frame.body ?? body, redactions: frame.redactions, createdAt: frame.createdAt,
      author: { kind: 'visitor' }, visibility: 'public', conversationId: conversation.id,
    });
    renderMessages();
  }, (error) => {
    const entry = state.pending.get(clientId);
    if (entry) entry.status = 'failed';
    renderMessages();
    showError(refusal(error) ?? error.message);
  });
}

/** The visitor's own words for a refusal by the spam rules, or null for other errors. */
function refusal(error) {
  const keys = { chat_unavailable: 'chatUnavailable', duplicate_message: 'duplicateMessage', too_many_links: 'tooManyLinks', rate_limited: 'slowDown' };
  return keys[error?.code] ? t(keys[error.code]) : null;
}

async function submitComposer() {
  const body = ui.input.value.trim();
  if (!body) return;
  // A message that looks like a card number or a password is held until the visitor confirms it.
  if (looksSensitive(body) && ui.warning?.dataset.body !== body) {
    showSensitiveWarning(body);
    return;
  }
  if (ui.warning) {
    ui.warning = null;
    renderFooter();
  }
  if (state.view === 'start') {
    ui.send.disabled = true;
    const started = await startConversation(body);
    ui.send.disabled = false;
    if (!started) return;
  } else {
    send(body);
  }
  ui.input.value = '';
  stopTyping();
}

function typed() {
  if (state.view !== 'chat' || !state.conversation) return;
  const now = Date.now();
  if (!state.typingSentAt || now - state.typingSentAt > 3000) {
    state.typingSentAt = now;
    state.socket.send({ type: 'typing', conversationId: state.conversation.id, active: true });
  }
  clearTimeout(state.typingStop);
  state.typingStop = setTimeout(stopTyping, 4000);
}

function stopTyping() {
  clearTimeout(state.typingStop);
  if (state.typingSentAt && state.conversation) {
    state.socket.send({ type: 'typing', conversationId: state.conversation.id, active: false });
  }
  state.typingSentAt = 0;
}

async function endConversation() {
  try {
    await state.socket.request({ type: 'conversation.close', conversationId: state.conversation.id });
  } catch (error) {
    showError(error.message);
  }
}

async function leaveOfflineMessage(event) {
  event.preventDefault();
  const body = ui.offlineBody.value.trim();
  if (!body) return;
  const frame = { type: 'offline.leave', clientId: crypto.randomUUID(), body, form: formSignals(ui.offlineTrap, state.offlineShownAt) };
  if (ui.offlineName.value.trim()) frame.name = ui.offlineName.value.trim();
  if (ui.offlineEmail.value.trim()) frame.email = ui.offlineEmail.value.trim();
  try {
    await state.socket.request(frame);
    setView('offline-sent');
  } catch (error) {
    showError(refusal(error) ?? (error.code === 'invalid_request' ? error.message : t('errorGeneric')));
  }
}

async function rate(event) {
  event.preventDefault();
  if (!state.rating) return;
  const frame = { type: 'conversation.rate', conversationId: state.conversation.id, score: state.rating };
  const comment = ui.comment.value.trim();
  if (comment) frame.comment = comment;
  try {
    await state.socket.request(frame);
    state.rated = true;
  } catch (error) {
    if (error.code !== 'already_rated') return showError(error.message);
    state.rated = true;
  }
  ui.end = null;
  renderBody();
}

/** Withdraws consent: an open conversation ends, and the next one asks again. */
async function withdrawConsent() {
  try {
    await state.socket.request({ type: 'consent.withdraw' });
    state.consent = null;
    state.notice = t('consentWithdrawn');
    if (state.view === 'start') renderStart();
    else if (state.view === 'closed') { ui.end = null; renderMessages(); }
  } catch (error) {
    showError(error.message);
  }
}

/** Asks, in place, before deleting (a framed page may not be allowed to open dialogs). */
function confirmDeletion(event) {
  const button = event.currentTarget;
  const cancel = el('button', { class: 'secondary', type: 'button', text: t('cancel') });
  const question = el('div', { class: 'confirm', role: 'alertdialog', 'aria-label': t('deleteConfirm') },
    el('p', { text: t('deleteConfirm') }),
    el('button', { class: 'secondary danger', type: 'button', id: 'confirm-delete', onclick: deleteConversation, text: t('deleteForGood') }), cancel);
  cancel.addEventListener('click', () => question.replaceWith(button));
  button.replaceWith(question);
  question.querySelector('#confirm-delete').focus();
}

/** Deletes the closed conversation for good (when the site allows it). */
async function deleteConversation() {
  try {
    await state.socket.request({ type: 'conversation.delete', conversationId: state.conversation.id });
    state.notice = t('deleted');
    newConversation();
  } catch (error) {
    showError(error.message);
  }
}

/** The consent line and the privacy actions the visitor has. */
function privacyNode() {
  const parts = [];
  if (state.notice) parts.push(el('p', { class: 'notice', role: 'status', text: state.notice }));
  if (state.consent) {
    parts.push(el('p', { class: 'consent-given', text: t('consentGiven', { date: new Date(state.consent.givenAt).toLocaleDateString(state.lang) }) }));
    parts.push(el('button', { class: 'secondary', type: 'button', id: 'withdraw-consent', onclick: withdrawConsent, text: t('withdrawConsent') }));
  }
  return parts.length ? el('div', { class: 'privacy' }, parts) : null;
}

function newConversation() {
  state.conversation = null;
  state.entries.clear();
  state.pending.clear();
  state.agentReadSeq = 0;
  state.lastReadSent = 0;
  state.rated = false;
  state.rating = 0;
  setView(state.agentsOnline ? 'start' : 'offline');
}

/** A plain-text transcript of what the visitor saw, downloaded as a file. */
function downloadTranscript() {
  const lines = [`${state.config.name} — ${new Date(state.conversation.createdAt).toLocaleString(state.lang)}`, ''];
  for (const entry of sortedEntries()) {
    const when = new Date(entry.createdAt).toLocaleString(state.lang);
    if (entry.type === 'message') {
      const who = entry.author.kind === 'visitor' ? t('you') : entry.author.name || t('agent');
      lines.push(`[${when}] ${who}: ${entry.body}`);
    } else {
      const text = systemText(entry);
      if (text) lines.push(`[${when}] — ${text}`);
    }
  }
  const blob = new Blob([lines.join('\n') + '\n'], { type: 'text/plain;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const date = new Date().toISOString().slice(0, 10);
  const link = el('a', { href: url, download: `${t('transcriptFile')}-${date}.txt`, class: 'sr-only' });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function toggleMute() {
  state.muted = !state.muted;
  sessionStorage.setItem(muteKey, state.muted ? '1' : '0');
  renderHeader();
}

// MARK: Rendering

function buildLayout() {
  const app = document.getElementById('app');
  ui.header = el('header', { class: 'header' });
  ui.banner = el('div', { class: 'banner', role: 'status', hidden: true });
  ui.body = el('div', { class: 'body', role: 'log', 'aria-live': 'polite', tabindex: '0' });
  ui.footer = el('div');
  append(app, [ui.header, ui.banner, ui.body, ui.footer]);
  // Nothing is shown until the site's language is known: every visible word is translated.
  ui.body.setAttribute('aria-busy', 'true');
}

function setView(view) {
  if (state.view === view && view !== 'start' && view !== 'offline') return;
  ui.body.removeAttribute('aria-busy');
  state.view = view;
  ui.end = null;
  state.error = null;
  renderHeader();
  renderBanner();
  renderBody();
  renderFooter();
}

function renderHeader() {
  if (!state.config) return;
  const agent = state.conversation?.agent;
  const title = agent ? agent.name : t('title');
  const subtitle = agent ? state.config.name : (state.agentsOnline ? t('online') : t('offline'));
  const buttons = [];
  if (state.view === 'chat' && state.conversation) {
    buttons.push(el('button', { class: 'icon-button', type: 'button', title: t('endChat'), 'aria-label': t('endChat'), onclick: endConversation }, icon('power')));
  }
  buttons.push(el('button', {
    class: 'icon-button', type: 'button', title: state.muted ? t('unmute') : t('mute'), 'aria-label': state.muted ? t('unmute') : t('mute'),
    'aria-pressed': String(state.muted), onclick: toggleMute,
  }, icon(state.muted ? 'bellOff' : 'bell')));
  buttons.push(el('button', {
    class: 'icon-button', type: 'button', title: t('minimize'), 'aria-label': t('minimize'),
    onclick: () => { state.open = false; toParent({ type: 'confidant:hide' }); },
  }, icon('minus')));
  replace(ui.header,
    el('div', { class: 'avatar', 'aria-hidden': 'true', text: agent ? initials(agent.name) : initials(state.config.name) }),
    el('div', { class: 'header-text' }, el('div', { class: 'header-title', text: title }), el('div', { class: 'header-subtitle', text: subtitle })),
    buttons);
}

function renderBanner() {
  if (!state.config) return;
  let text = null;
  let kind = '';
  if (state.connection === 'reconnecting') {
    text = t('reconnecting');
    kind = 'reconnecting';
  } else if (state.view === 'chat' && state.conversation?.state === 'queued' && state.queue?.position) {
    text = t('waiting', { position: state.queue.position });
    if (state.queue.expectedWaitSeconds) text += ' ' + t('expectedWait', { minutes: Math.max(1, Math.round(state.queue.expectedWaitSeconds / 60)) });
  }
  ui.banner.hidden = !text;
  ui.banner.className = `banner ${kind}`;
  ui.banner.textContent = text ?? '';
}

function renderBody() {
  switch (state.view) {
    case 'start': return renderStart();
    case 'offline': return renderOffline();
    case 'offline-sent': return replace(ui.body, el('p', { class: 'greeting thanks', text: t('offlineThanks') }));
    case 'chat': return renderMessages();
    case 'closed': return renderMessages();
    default: return replace(ui.body, el('p', { class: 'system', text: t('connecting') }));
  }
}

/** A field people never see (hidden from screen readers too) that naive bots fill in. */
function honeypot(id) {
  return el('input', { type: 'text', id, name: 'website', class: 'trap', tabindex: '-1', autocomplete: 'off', 'aria-hidden': 'true' });
}

/** What the server uses to tell a person from a bot: the trap's value and the time taken. */
function formSignals(trap, shownAt) {
  const signals = { honeypot: trap?.value ?? '' };
  if (shownAt !== null && shownAt !== undefined) signals.fillMs = Math.max(0, Math.round(performance.now() - shownAt));
  return signals;
}

function renderStart() {
  const settings = state.config.settings;
  state.startShownAt = performance.now();
  ui.startTrap = honeypot('start-website');
  const parts = [
    el('p', { class: 'greeting', text: settings.greeting || t('greeting') }),
    safetyNote(),
  ];
  const form = el('div', { class: 'form' });
  ui.name = ui.email = ui.consent = null;

  if (settings.preChat.enabled) {
    if (settings.preChat.askName) {
      ui.name = el('input', { type: 'text', id: 'prechat-name', autocomplete: 'name', maxlength: '100', placeholder: t('namePlaceholder') });
      form.append(el('label', { class: 'field', for: 'prechat-name' }, t('nameLabel'), ui.name));
    }
    if (settings.preChat.askEmail) {
      ui.email = el('input', { type: 'email', id: 'prechat-email', autocomplete: 'email', maxlength: '254', placeholder: t('emailPlaceholder') });
      form.append(el('label', { class: 'field', for: 'prechat-email' }, t('emailLabel'), ui.email));
    }
  }
  // Asked once per version of the site's text and policy.
  if (settings.consent.required && state.consent?.version !== settings.consent.version) {
    ui.consent = el('input', { type: 'checkbox', id: 'consent' });
    const policy = settings.consent.privacyPolicyUrl;
    form.append(el('label', { class: 'consent', for: 'consent' }, ui.consent,
      el('span', {}, settings.consent.text || t('consentText'), ' ',
        el('a', { href: policy, target: '_blank', rel: 'noopener noreferrer nofollow', class: 'link', text: t('privacyPolicy') }), '.')));
  }
  form.append(ui.startTrap);
  parts.push(form);
  parts.push(privacyNode());
  ui.error = el('p', { class: 'error', role: 'alert' });
  parts.push(ui.error);
  replace(ui.body, parts);
}

function renderOffline() {
  state.offlineShownAt = performance.now();
  ui.offlineTrap = honeypot('offline-website');
  ui.offlineName = el('input', { type: 'text', id: 'offline-name', autocomplete: 'name', maxlength: '100', placeholder: t('namePlaceholder') });
  ui.offlineEmail = el('input', { type: 'email', id: 'offline-email', autocomplete: 'email', maxlength: '254', placeholder: t('emailPlaceholder') });
  ui.offlineBody = el('textarea', { id: 'offline-body', rows: '4', maxlength: '4000', required: true, placeholder: t('messagePlaceholder') });
  ui.error = el('p', { class: 'error', role: 'alert' });
  replace(ui.body,
    el('h2', { class: 'header-title', text: t('offlineTitle') }),
    el('p', { class: 'greeting', text: t('offlineText') }),
    el('form', { class: 'form', onsubmit: leaveOfflineMessage },
      el('label', { class: 'field', for: 'offline-name' }, t('nameLabel'), ui.offlineName),
      el('label', { class: 'field', for: 'offline-email' }, t('emailLabel'), ui.offlineEmail),
      el('label', { class: 'field', for: 'offline-body' }, t('messageLabel'), ui.offlineBody),
      ui.offlineTrap,
      ui.error,
      el('button', { class: 'primary', type: 'submit', text: t('offlineSend') })));
}

/**
 * Whether a message looks like a card number (12–19 digits passing the Luhn check) or talks
 * about a password or PIN. Only a prompt to think again: the server masks card numbers anyway.
 */
function looksSensitive(text) {
  for (const run of text.match(/\d[\d -]{10,}\d/g) ?? []) {
    const digits = run.replace(/\D/g, '');
    if (digits.length >= 12 && digits.length <= 19 && luhn(digits)) return true;
  }
  return /(^|[^\p{L}])(password|passcode|pin|jelsz[óo]|pin-?k[óo]d|contrase[ñn]a|clave)([^\p{L}]|$)/iu.test(text);
}

function luhn(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let value = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) value = value * 2 > 9 ? value * 2 - 9 : value * 2;
    sum += value;
  }
  return sum % 10 === 0;
}

/** The warning above the composer: edit the message, or send it as it is. */
function showSensitiveWarning(body) {
  ui.warning = el('div', { class: 'warning', role: 'alert', dataset: { body } },
    el('p', {}, icon('lock', 14), el('span', { text: t('sensitiveWarning') })),
    el('div', { class: 'warning-actions' },
      el('button', { type: 'button', class: 'secondary edit-message', text: t('editMessage'), onclick: () => {
        ui.warning = null;
        renderFooter();
        ui.input.focus();
      } }),
      el('button', { type: 'button', class: 'primary send-anyway', text: t('sendAnyway'), onclick: () => submitComposer() })));
  renderFooter();
}

function safetyNote() {
  return el('p', { class: 'safety' }, icon('lock', 14), el('span', { text: t('safety') }));
}

function sortedEntries() {
  return [...state.entries.values()].sort((a, b) => a.seq - b.seq);
}

function systemText(entry) {
  switch (entry.type) {
    case 'conversation.assigned': return t('agentJoined', { name: entry.agent?.name || t('agent') });
    case 'conversation.transferred': return entry.agent ? t('agentJoined', { name: entry.agent.name }) : t('transferred');
    case 'conversation.closed': return t('ended');
    default: return null;
  }
}

function renderMessages() {
  if (state.view !== 'chat' && state.view !== 'closed') return;
  const atBottom = ui.body.scrollHeight - ui.body.scrollTop - ui.body.clientHeight < 40;
  const nodes = [safetyNote()];
  for (const entry of sortedEntries()) {
    if (entry.type === 'message') nodes.push(messageNode(entry, statusOf(entry)));
    else {
      const text = systemText(entry);
      if (text) nodes.push(el('p', { class: 'system', text }));
    }
  }
  for (const pending of state.pending.values()) {
    nodes.push(messageNode({ body: pending.body, createdAt: pending.createdAt, author: { kind: 'visitor' } }, pending.status === 'failed' ? t('notSent') : t('sending')));
  }
  ui.typing = el('p', { class: 'typing', 'aria-live': 'polite' });
  nodes.push(ui.typing);
  // The end panel is built once, so re-rendering never loses a chosen star or a typed comment.
  if (state.view === 'closed') nodes.push(ui.end ??= endNode());
  ui.error = el('p', { class: 'error', role: 'alert' });
  nodes.push(ui.error);
  replace(ui.body, nodes);
  renderTyping();
  if (atBottom || state.view === 'chat') ui.body.scrollTop = ui.body.scrollHeight;
}

function statusOf(entry) {
  if (entry.author.kind !== 'visitor') return null;
  return entry.seq <= state.agentReadSeq ? t('read') : t('delivered');
}

function messageNode(entry, status) {
  const outgoing = entry.author.kind === 'visitor';
  const name = outgoing ? t('you') : entry.author.name || t('agent');
  const meta = [clock(entry.createdAt, state.lang), entry.redactions?.length ? t('masked') : null, status].filter(Boolean).join(' · ');
  return el('div', { class: `message ${outgoing ? 'out' : 'in'}` },
    outgoing ? null : el('div', { class: 'avatar', 'aria-hidden': 'true', text: initials(name) }),
    el('div', { class: 'message-stack' },
      el('span', { class: 'sr-only', text: `${name}:` }),
      el('div', { class: outgoing ? 'bubble-out' : 'bubble-in' }, richText(entry.body)),
      el('div', { class: 'message-meta', text: meta })));
}

function endNode() {
  const parts = [];
  if (state.rated) {
    parts.push(el('p', { class: 'thanks', text: t('rateThanks') }));
  } else {
    const stars = el('div', { class: 'stars', role: 'radiogroup', 'aria-label': t('rateTitle') });
    for (let n = 1; n <= 5; n++) {
      stars.append(el('button', {
        type: 'button', class: `star ${n <= state.rating ? 'on' : ''}`, role: 'radio', 'aria-checked': String(n === state.rating),
        'aria-label': t('star', { n }), dataset: { score: String(n) },
        onclick: () => {
          state.rating = n;
          for (const star of stars.children) {
            star.classList.toggle('on', Number(star.dataset.score) <= n);
            star.setAttribute('aria-checked', String(Number(star.dataset.score) === n));
          }
        },
      }, '★'));
    }
    ui.comment = el('textarea', { id: 'rating-comment', rows: '2', maxlength: '1000', placeholder: t('rateComment'), 'aria-label': t('rateComment') });
    parts.push(el('form', { class: 'form', onsubmit: rate },
      el('p', { class: 'header-title', text: t('rateTitle') }), stars, ui.comment,
      el('button', { class: 'primary', type: 'submit', text: t('rateSubmit') })));
  }
  parts.push(el('button', { class: 'secondary', type: 'button', onclick: downloadTranscript, text: t('downloadTranscript') }));
  if (state.config.settings.visitorsMayDeleteConversations) {
    parts.push(el('button', { class: 'secondary danger', type: 'button', id: 'delete-conversation', onclick: confirmDeletion, text: t('deleteConversation') }));
  }
  parts.push(el('button', { class: 'secondary', type: 'button', onclick: newConversation, text: t('newChat') }));
  parts.push(privacyNode());
  return el('div', { class: 'end' }, parts);
}

function renderTyping() {
  if (ui.typing) ui.typing.textContent = state.typingName ? t('typing', { name: state.typingName }) : '';
}

function renderFooter() {
  if (state.view !== 'start' && state.view !== 'chat') {
    replace(ui.footer);
    ui.input = null;
    return;
  }
  if (!ui.composer) {
    ui.input = el('textarea', { id: 'message', rows: '1', maxlength: '4000', 'aria-label': t('messageLabel'), placeholder: t('messagePlaceholder') });
    ui.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submitComposer();
      }
    });
    ui.input.addEventListener('input', typed);
    ui.send = el('button', { class: 'primary', type: 'button', onclick: submitComposer, text: t('send') });
    ui.composer = el('div', { class: 'composer' }, ui.input, ui.send);
  }
  const wanted = [ui.warning, ui.composer].filter(Boolean);
  if (ui.footer.children.length !== wanted.length || wanted.some((node, index) => ui.footer.children[index] !== node)) replace(ui.footer, ...wanted);
}

function showError(message) {
  if (ui.error) ui.error.textContent = message;
}

function showFatal(message) {
  replace(ui.header);
  replace(ui.footer);
  replace(ui.body, el('p', { class: 'system', text: message }));
}

start();
