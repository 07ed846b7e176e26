// History: every conversation the agent may see, filtered, with a read-only transcript.
import { el, replace } from '/shared/dom.js';
import { api, query } from '/console/api.js';
import { messageRow, systemText, visitorName } from '/console/render.js';
import { nameOf } from '/console/store.js';

export function renderHistory(main, store) {
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
      const data = await api('GET', `/v1/conversations/${id}/transcript`);
      transcript.hidden = false;
      replace(transcript,
        el('h3', { text: `${visitorName(data.conversation)} · ${nameOf('site', data.conversation.siteId)}` }),
        el('div', { class: 'messages transcript' }, data.entries.map((entry) => entry.type === 'message' ? messageRow(entry, null) : el('p', { class: 'system', text: systemText(entry) }))));
      transcript.scrollIntoView({ behavior: 'smooth' });
    } catch (failure) {
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
}
