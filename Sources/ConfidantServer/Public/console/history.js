// History: every conversation the agent may see, filtered, with a read-only transcript.
// Supervisors may watch an active one live (the visitor is not told) and whisper notes to
// its agent.
import { el, replace } from '/shared/dom.js';
import { api, query } from '/console/api.js';
import { messageRow, systemText, verifiedBadge, visitorName } from '/console/render.js';
import { can, nameOf } from '/console/store.js';

/** The conversation being watched live, if any (one at a time, across visits to the page). */
let watching = null;
const listening = new WeakSet();

function onFrame(event) {
  const frame = event.detail;
  if (!watching || frame.conversationId !== watching.id || frame.type !== 'message' || watching.seen.has(frame.seq)) return;
  watching.seen.add(frame.seq);
  watching.messages.append(messageRow(frame, null));
  watching.messages.scrollTop = watching.messages.scrollHeight;
}

function stopWatching(store) {
  if (!watching) return;
  store.socket?.send({ type: 'conversation.unwatch', conversationId: watching.id });
  watching = null;
}

export function renderHistory(main, store, conversationId) {
  stopWatching(store);
  if (store.socket && !listening.has(store.socket)) {
    store.socket.addEventListener('frame', onFrame);
    listening.add(store.socket);
  }
  const state = el('select', { id: 'filter-state' }, [['', 'Any state'], ['queued', 'Queued'], ['active', 'Active'], ['closed', 'Closed']].map(([value, label]) => el('option', { value, text: label })));
  const site = el('select', { id: 'filter-site' }, el('option', { value: '', text: 'Any site' }), [...store.sites.values()].map((item) => el('option', { value: item.id, text: item.name })));
  const department = el('select', { id: 'filter-department' }, el('option', { value: '', text: 'Any department' }), [...store.departments.values()].map((item) => el('option', { value: item.id, text: item.name })));
  const agent = el('select', { id: 'filter-agent' }, el('option', { value: '', text: 'Any agent' }), [...store.agents.values()].map((item) => el('option', { value: item.id, text: item.displayName })));
  const from = el('input', { type: 'date', id: 'filter-from' });
  const to = el('input', { type: 'date', id: 'filter-to' });
  const results = el('div', { class: 'card' });
  const transcript = el('div', { class: 'card', hidden: true });
  const error = el('p', { class: 'error', role: 'alert' });
  let before = null;
  let generation = 0;

  async function search(more = false) {
    // Only the newest search may show its answer: an older one finishing late must not win.
    const mine = ++generation;
    const params = {
      view: 'history', state: state.value, site: site.value, department: department.value, agent: agent.value, limit: 50,
      from: from.value ? new Date(from.value).getTime() : '', to: to.value ? new Date(to.value).getTime() + 86400000 : '', before: more ? before : '',
    };
    try {
      const page = await api('GET', `/v1/conversations${query(params)}`);
      if (mine !== generation) return;
      before = page.nextBefore ?? null;
      const rows = page.items.map((summary) => el('tr', { class: 'clickable', tabindex: '0', dataset: { conversation: summary.id }, onclick: () => open(summary.id), onkeydown: (event) => { if (event.key === 'Enter') open(summary.id); } },
        el('td', { text: new Date(summary.createdAt).toLocaleString() }), el('td', { text: visitorName(summary) }), el('td', { text: nameOf('site', summary.siteId) }),
        el('td', { text: nameOf('department', summary.departmentId) }), el('td', { text: summary.agent?.name ?? '—' }),
        el('td', {}, el('span', { class: `pill ${summary.state}`, text: summary.state })), el('td', { text: summary.rating ? `${summary.rating}/5` : '' })));
      const table = el('table', {}, el('thead', {}, el('tr', {}, ['Started', 'Visitor', 'Site', 'Department', 'Agent', 'State', 'Rating'].map((head) => el('th', { text: head })))), el('tbody', {}, rows));
      if (more) results.querySelector('tbody').append(...rows);
      else replace(results, page.items.length ? table : el('p', { class: 'empty', text: 'No conversations match.' }));
      results.querySelector('.more')?.remove();
      if (before) results.append(el('button', { class: 'secondary more', type: 'button', onclick: () => search(true), text: 'Load more' }));
    } catch (failure) {
      error.textContent = failure.message;
    }
  }

  async function open(id) {
    try {
      stopWatching(store);
      const data = await api('GET', `/v1/conversations/${id}/transcript`);
      transcript.hidden = false;
      const messages = el('div', { class: 'messages transcript' }, data.entries.map((entry) => entry.type === 'message' ? messageRow(entry, null) : el('p', { class: 'system', text: systemText(entry) })));
      const watchable = can('monitor') && data.conversation.state === 'active' && store.socket;
      replace(transcript,
        el('h3', {}, `${visitorName(data.conversation)} · ${nameOf('site', data.conversation.siteId)} `, verifiedBadge(data.conversation)),
        messages,
        watchable ? el('button', { class: 'secondary', type: 'button', id: 'watch-live', text: 'Watch live', onclick: (event) => watch(data, messages, event.target) }) : null,
        can('managePersonalData') ? personalDataActions(data.conversation.visitorId) : null);
      transcript.scrollIntoView({ behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
    } catch (failure) {
      error.textContent = failure.message;
    }
  }

  /** The visitor's rights (GDPR): everything held about them as JSON, or erasure for good. */
  function personalDataActions(visitorId) {
    const visitorPath = `/v1/visitors/${encodeURIComponent(visitorId)}`;
    return el('div', { class: 'inline', id: 'personal-data' },
      el('a', { class: 'secondary button', id: 'export-visitor', href: `${visitorPath}/export`, download: `visitor-${visitorId}.json`, text: 'Export visitor data' }),
      el('button', { class: 'danger', type: 'button', id: 'erase-visitor', text: 'Erase visitor', onclick: async () => {
        if (!confirm('Erase everything held about this visitor, in every conversation, for good? Their data key is destroyed: this cannot be undone.')) return;
        try {
          const report = await api('DELETE', visitorPath);
          replace(transcript, el('p', { class: 'notice', id: 'erased', text: `Erased: ${report.conversations} conversation(s), ${report.messages} message(s), ${report.offlineMessages} offline message(s); data key destroyed.` }));
          search();
        } catch (failure) {
          error.textContent = failure.message;
        }
      } }));
  }

  async function watch(data, messages, button) {
    const id = data.conversation.id;
    watching = { id, messages, seen: new Set(data.entries.filter((entry) => entry.type === 'message').map((entry) => entry.seq)) };
    try {
      await store.socket.request({ type: 'conversation.watch', conversationId: id });
      const note = el('textarea', { class: 'input', id: 'whisper', rows: '2', maxlength: '4000', 'aria-label': 'Internal note to the agent' });
      const allowed = el('p', { class: 'hint', 'aria-live': 'polite' });
      button.replaceWith(el('div', { class: 'stack note-mode' },
        el('p', { class: 'hint', text: 'Watching live. The visitor does not see you or your notes.' }), note,
        // The guard holds replies that ask visitors for secrets; a supervisor may let one through.
        el('button', { class: 'secondary', type: 'button', id: 'allow-guarded', text: 'Allow one guarded reply', onclick: async () => {
          try {
            const exception = await api('POST', `/v1/conversations/${id}/guard-exception`);
            allowed.textContent = `The agent's next reply asking for a secret goes through if sent before ${new Date(exception.expiresAt).toLocaleTimeString()}.`;
          } catch (failure) {
            error.textContent = failure.message;
          }
        } }), allowed,
        el('button', { class: 'secondary', type: 'button', text: 'Send internal note', onclick: async () => {
          if (!note.value.trim()) return;
          try {
            await store.socket.request({ type: 'message.send', conversationId: id, clientId: crypto.randomUUID(), body: note.value, visibility: 'internal' });
            note.value = '';
          } catch (failure) {
            error.textContent = failure.message;
          }
        } })));
    } catch (failure) {
      watching = null;
      error.textContent = failure.message;
    }
  }

  replace(main, el('section', { class: 'page', 'aria-label': 'History' },
    el('h2', { text: 'History' }),
    el('form', { class: 'filters card', onsubmit: (event) => { event.preventDefault(); search(); } },
      el('label', { class: 'field', for: 'filter-state' }, 'State', state), el('label', { class: 'field', for: 'filter-site' }, 'Site', site),
      el('label', { class: 'field', for: 'filter-department' }, 'Department', department), el('label', { class: 'field', for: 'filter-agent' }, 'Agent', agent),
      el('label', { class: 'field', for: 'filter-from' }, 'From', from), el('label', { class: 'field', for: 'filter-to' }, 'To', to),
      el('button', { class: 'primary', type: 'submit', text: 'Search' })),
    error, results, transcript));
  search();
  if (conversationId) open(conversationId);
}
