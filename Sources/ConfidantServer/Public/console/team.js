// The team at a glance (owners and admins): every agent's availability and load, and the queue.
import { el, elapsed, replace } from '/shared/dom.js';
import { loadDirectory, nameOf } from '/console/store.js';

export function renderTeam(main, store, inbox) {
  const body = el('div', { class: 'stack' });
  const page = el('section', { class: 'page', 'aria-label': 'Team' }, el('h2', { text: 'Team' }), body);
  replace(main, page);

  function render() {
    const agents = [...store.agents.values()].filter((agent) => agent.active).sort((a, b) => a.displayName.localeCompare(b.displayName));
    const rows = agents.map((agent) => {
      const load = agent.activeConversations ?? 0;
      const share = Math.min(100, Math.round((load / Math.max(1, agent.maxConversations)) * 100));
      return el('tr', { dataset: { agent: agent.id } },
        el('td', { text: agent.displayName }), el('td', { text: agent.role }),
        el('td', {}, el('span', { class: `pill ${agent.online ? 'online' : ''}`, text: agent.online ? 'online' : 'offline' }), ' ',
          el('span', { class: `pill ${agent.availability === 'available' ? 'available' : ''}`, text: agent.availability })),
        el('td', {}, el('div', { class: 'load' }, el('div', { class: 'meter', role: 'img', 'aria-label': `${load} of ${agent.maxConversations}` }, el('span', { dataset: { share: String(share) } })), `${load} / ${agent.maxConversations}`)),
        el('td', { text: agent.departments.map((id) => nameOf('department', id)).join(', ') || 'General only' }));
    });
    const queue = inbox.queueEntries();
    replace(body,
      el('div', { class: 'card' }, el('h3', { text: `Agents (${agents.filter((agent) => agent.online).length} online)` }),
        el('table', {}, el('thead', {}, el('tr', {}, ['Name', 'Role', 'Status', 'Load', 'Departments'].map((head) => el('th', { text: head })))), el('tbody', {}, rows))),
      el('div', { class: 'card' }, el('h3', { text: `Queue (${queue.length})` }),
        queue.length
          ? el('table', {}, el('thead', {}, el('tr', {}, ['Site', 'Department', 'Position', 'Waiting'].map((head) => el('th', { text: head })))),
            el('tbody', {}, queue.map((entry) => el('tr', {}, el('td', { text: nameOf('site', entry.siteId) }), el('td', { text: nameOf('department', entry.departmentId) }),
              el('td', { text: String(entry.position) }), el('td', { text: elapsed(entry.queuedAt) })))))
          : el('p', { class: 'empty', text: 'Nobody is waiting.' })));
    // Meter widths go through the CSSOM (no inline style markup).
    for (const bar of body.querySelectorAll('.meter span')) bar.style.width = `${bar.dataset.share}%`;
  }

  store.listeners.add(render);
  render();
  const refresh = async () => {
    if (!page.isConnected) return clearInterval(timer);
    await loadDirectory().catch(() => {});
  };
  const timer = setInterval(refresh, 5000);
}
