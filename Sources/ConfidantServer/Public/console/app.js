// The agent console: sign-in (password, then the second factor or whatever the account must do
// first), the shell (availability, navigation), the live socket, and the pages the member's
// permissions open. State is kept in memory only; the session lives in an HttpOnly cookie.
import { ChatSocket } from '/shared/chat-socket.js';
import { el, replace } from '/shared/dom.js';
import { renderAccount, renderEnrollment, renderPasswordChange, renderSecondFactor } from '/console/account.js';
import { renderAdmin } from '/console/admin.js';
import { api, APIError, useSession } from '/console/api.js';
import { renderHistory } from '/console/history.js';
import { Inbox } from '/console/inbox.js';
import { renderAudit, renderReports } from '/console/oversight.js';
import { can, isManager, loadDirectory, notify, store } from '/console/store.js';
import { renderTeam } from '/console/team.js';

const root = document.getElementById('app');

async function boot() {
  try {
    await proceed(useSession(await api('GET', '/v1/auth/me')));
  } catch (error) {
    if (error instanceof APIError && error.status === 401) showLogin();
    else if (error instanceof APIError && error.code === 'network_not_allowed') showLogin(error.message);
    else replace(root, el('p', { class: 'loading', text: 'The console could not load. Reload the page.' }));
  }
}

/** Takes a session to the console, through whatever its stage still requires. */
async function proceed(session) {
  const card = () => {
    const container = el('div', { class: 'login' });
    replace(root, el('div', { class: 'login-page' }, el('div', { class: 'brand' }, 'Confi', el('span', { text: 'dant' })), container));
    return container;
  };
  const next = (updated) => proceed(updated);
  switch (session.stage) {
    case 'second_factor': return renderSecondFactor(card(), next);
    case 'enroll_two_factor': return renderEnrollment(card(), { needsPassword: false, forced: true }, next);
    case 'change_password': return renderPasswordChange(card(), { forced: true }, next);
    default: return enter(session);
  }
}

function showLogin(message = '') {
  const email = el('input', { type: 'email', id: 'login-email', autocomplete: 'username', required: true });
  const password = el('input', { type: 'password', id: 'login-password', autocomplete: 'current-password', required: true });
  const error = el('p', { class: 'error', role: 'alert', text: message });
  const submit = el('button', { class: 'primary', type: 'submit', text: 'Sign in' });
  replace(root, el('form', {
    class: 'login',
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        await proceed(useSession(await api('POST', '/v1/auth/login', { email: email.value, password: password.value })));
      } catch (failure) {
        error.textContent = failure.message;
        submit.disabled = false;
        password.select();
      }
    },
  },
  el('div', { class: 'brand' }, 'Confi', el('span', { text: 'dant' })),
  el('h1', { text: 'Sign in to the console' }),
  el('label', { class: 'field', for: 'login-email' }, 'E-mail', email),
  el('label', { class: 'field', for: 'login-password' }, 'Password', password),
  error, submit));
  email.focus();
}

async function enter(session) {
  store.me = session.agent;
  store.session = session;
  store.permissions = new Set(session.permissions);
  if (can('readDirectory')) await loadDirectory();
  const socket = new ChatSocket('/v1/ws/agent');
  store.socket = socket;
  const inbox = new Inbox(store);
  buildShell(inbox);
  socket.addEventListener('fatal', () => {
    store.socket = null;
    showLogin('Your session ended. Sign in again.');
  });
  socket.addEventListener('frame', (event) => {
    const frame = event.detail;
    if (frame.type === 'availability') {
      const known = store.agents.get(frame.agentId);
      if (known) {
        known.availability = frame.availability;
        known.online = frame.online;
      }
      if (frame.agentId === store.me.id) {
        store.me.availability = frame.availability;
        renderAvailability();
      }
      notify('agents');
    }
    if (frame.type === 'security.alert') showAlert(`Security alert: ${frame.alert.summary}`, () => show('admin', inbox, 'security'));
    if (frame.type === 'guard.held') {
      const secret = frame.secret.replaceAll('_', ' ');
      showAlert(`Held: ${frame.agent.name}'s reply asked a visitor for a ${secret}.`, () => show('history', inbox, frame.conversationId));
    }
    inbox.receive(frame);
    if (frame.type === 'queue') notify('queue');
  });
  socket.addEventListener('welcome', (event) => {
    const agent = event.detail.agent;
    // After "permissions changed" (4409) the socket reconnects with the new role and
    // departments: rebuild the console around them.
    if (agent.role !== store.me.role || agent.departments.join() !== store.me.departments.join()) {
      location.reload();
      return;
    }
    store.me.availability = agent.availability;
    renderAvailability();
    inbox.welcome(event.detail);
  });
  socket.addEventListener('state', (event) => {
    shell.status.hidden = event.detail !== 'reconnecting';
    shell.status.textContent = 'Connection lost. Reconnecting… Messages you send are kept and delivered when it is back.';
  });
  socket.connect();
}

const shell = {};

function buildShell(inbox) {
  shell.availability = el('button', { class: 'switch', type: 'button', role: 'switch', onclick: toggleAvailability });
  shell.status = el('div', { class: 'status-line', role: 'status', hidden: true });
  shell.alert = el('div', { class: 'status-line', id: 'security-alert', role: 'alert', hidden: true });
  shell.nav = el('nav', { class: 'nav', 'aria-label': 'Console' });
  shell.main = el('main', { class: 'main', id: 'main' });
  const pages = [];
  if (can('chat')) pages.push(['inbox', 'Inbox'], ['history', 'History']);
  if (isManager()) pages.push(['team', 'Team'], ['admin', 'Admin']);
  if (can('readReports')) pages.push(['reports', 'Reports']);
  if (can('readAudit')) pages.push(['audit', 'Audit log']);
  pages.push(['account', 'Account']);
  for (const [id, label] of pages) {
    shell.nav.append(el('button', { type: 'button', dataset: { page: id }, onclick: () => show(id, inbox), text: label }));
  }
  replace(root,
    el('header', { class: 'topbar' },
      el('div', { class: 'brand' }, 'Confi', el('span', { text: 'dant' })),
      shell.nav, el('div', { class: 'spacer' }), can('chat') ? shell.availability : null,
      el('span', { class: 'me', text: `${store.me.displayName} · ${store.me.role}` }),
      el('button', { class: 'secondary', type: 'button', onclick: signOut, text: 'Sign out' })),
    shell.alert, shell.status, shell.main);
  renderAvailability();
  show(pages[0][0], inbox);
  document.addEventListener('keydown', (event) => inbox.shortcut(event));
}

/** A live alert (security alerts for security managers, guard holds for supervisors): one
 * line above the page, with the way to review it. */
function showAlert(text, review) {
  replace(shell.alert, el('strong', { text }), ' ',
    el('button', { class: 'secondary', type: 'button', text: 'Review', onclick: () => { shell.alert.hidden = true; review(); } }),
    el('button', { class: 'secondary', type: 'button', text: 'Dismiss', onclick: () => { shell.alert.hidden = true; } }));
  shell.alert.hidden = false;
}

/** `detail`: the admin tab to open, or the conversation to open in History. */
function show(page, inbox, detail) {
  store.page = page;
  store.listeners.clear();
  for (const button of shell.nav.children) button.setAttribute('aria-current', button.dataset.page === page ? 'page' : 'false');
  if (page === 'inbox') inbox.mount(shell.main);
  else {
    inbox.unmount();
    if (page === 'history') renderHistory(shell.main, store, detail);
    if (page === 'team') renderTeam(shell.main, store, inbox);
    if (page === 'admin') renderAdmin(shell.main, store, detail);
    if (page === 'reports') renderReports(shell.main, store);
    if (page === 'audit') renderAudit(shell.main, store);
    if (page === 'account') renderAccount(shell.main, store, store.session);
  }
}

function renderAvailability() {
  if (!shell.availability) return;
  const available = store.me.availability === 'available';
  shell.availability.setAttribute('aria-checked', String(available));
  replace(shell.availability, el('span', { class: 'dot', 'aria-hidden': 'true' }), available ? 'Available' : 'Away');
}

async function toggleAvailability() {
  // Asking here, on a click, is the moment browsers allow it.
  if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission();
  const next = store.me.availability === 'available' ? 'away' : 'available';
  try {
    await store.socket.request({ type: 'availability.set', availability: next });
    store.me.availability = next;
    renderAvailability();
  } catch (error) {
    shell.status.hidden = false;
    shell.status.textContent = error.message;
  }
}

async function signOut() {
  store.socket?.close();
  await api('POST', '/v1/auth/logout').catch(() => {});
  location.reload();
}

boot();
