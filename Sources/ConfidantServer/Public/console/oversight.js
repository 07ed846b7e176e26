// Oversight, read-only: the audit log (owners, admins, auditors) and conversation reports
// (owners, admins, supervisors for their departments, auditors).
import { el, replace } from '/shared/dom.js';
import { api, query } from '/console/api.js';
import { nameOf } from '/console/store.js';

/** The audit log, newest first, searchable, paged by time, exportable as CSV. */
export function renderAudit(main) {
  const action = el('input', { id: 'audit-action', placeholder: 'e.g. auth.login, or auth.', maxlength: '64' });
  const actor = el('input', { id: 'audit-actor', placeholder: 'an id', maxlength: '64' });
  const target = el('input', { id: 'audit-target', placeholder: 'an id', maxlength: '64' });
  const outcome = el('select', { id: 'audit-outcome' }, el('option', { value: '', text: 'Any' }), el('option', { value: 'success', text: 'Success' }),
    el('option', { value: 'failure', text: 'Failure' }));
  const from = el('input', { type: 'date', id: 'audit-from' });
  const to = el('input', { type: 'date', id: 'audit-to' });
  const exportLink = el('a', { class: 'secondary button', id: 'audit-export', download: 'confidant-audit.csv', text: 'Export CSV' });
  const filters = () => ({
    action: action.value.trim(), actor: actor.value.trim(), target: target.value.trim(), outcome: outcome.value,
    from: from.value ? new Date(from.value).getTime() : '', to: to.value ? new Date(to.value).getTime() + 86400000 : '',
  });
  const results = el('div', { class: 'card' });
  const error = el('p', { class: 'error', role: 'alert' });
  let before = null;

  async function load(more = false) {
    try {
      exportLink.href = `/v1/audit/export${query(filters())}`;
      const page = await api('GET', `/v1/audit${query({ ...filters(), before: more ? before : '', limit: 100 })}`);
      before = page.nextBefore ?? null;
      const rows = page.items.map((event) => el('tr', { class: event.outcome === 'failure' ? 'failure' : '' },
        el('td', { text: new Date(event.at).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' }),
        el('td', { text: event.actorKind === 'staff' ? nameOf('agent', event.actorId) : `${event.actorKind}${event.actorId ? ' ' + event.actorId.slice(0, 8) : ''}` }),
        el('td', {}, el('code', { text: event.action })), el('td', { text: event.outcome }),
        el('td', { text: event.targetKind ? `${event.targetKind} ${(event.targetId ?? '').slice(0, 8)}` : '' }),
        el('td', { text: event.address ?? '' }),
        el('td', { text: Object.entries(event.details).map(([key, value]) => `${key}: ${value}`).join(', ') })));
      const table = el('table', { id: 'audit-table' }, el('thead', {}, el('tr', {}, ['When', 'Who', 'Action', 'Outcome', 'Target', 'Address', 'Details'].map((head) => el('th', { text: head })))), el('tbody', {}, rows));
      if (more) results.querySelector('tbody').append(...rows);
      else replace(results, page.items.length ? table : el('p', { class: 'empty', text: 'No events.' }));
      results.querySelector('.more')?.remove();
      if (before) results.append(el('button', { class: 'secondary more', type: 'button', onclick: () => load(true), text: 'Older events' }));
    } catch (failure) {
      error.textContent = failure.message;
    }
  }

  replace(main, el('section', { class: 'page', 'aria-label': 'Audit log' },
    el('h2', { text: 'Audit log' }),
    el('form', { class: 'filters card', onsubmit: (event) => { event.preventDefault(); load(); } },
      el('label', { class: 'field', for: 'audit-action' }, 'Action', action), el('label', { class: 'field', for: 'audit-actor' }, 'Who', actor),
      el('label', { class: 'field', for: 'audit-target' }, 'Target', target), el('label', { class: 'field', for: 'audit-outcome' }, 'Outcome', outcome),
      el('label', { class: 'field', for: 'audit-from' }, 'From', from), el('label', { class: 'field', for: 'audit-to' }, 'To', to),
      el('button', { class: 'primary', type: 'submit', text: 'Filter' }), exportLink),
    error, results));
  load();
}

/** Conversation counts, waits and ratings over a period. */
export function renderReports(main) {
  const from = el('input', { type: 'date', id: 'report-from', value: new Date(Date.now() - 30 * 86400000).toISOString().slice(0, 10) });
  const to = el('input', { type: 'date', id: 'report-to', value: new Date().toISOString().slice(0, 10) });
  const results = el('div', { class: 'card', id: 'report' });
  const error = el('p', { class: 'error', role: 'alert' });

  async function load() {
    try {
      const report = await api('GET', `/v1/reports/conversations${query({ from: new Date(from.value).getTime(), to: new Date(to.value).getTime() + 86400000 })}`);
      const total = Object.values(report.byState).reduce((sum, count) => sum + count, 0);
      const figures = [
        ['Conversations', String(total)],
        ...['queued', 'active', 'closed'].map((state) => [state[0].toUpperCase() + state.slice(1), String(report.byState[state] ?? 0)]),
        ['Average wait', report.averageWaitSeconds == null ? '—' : `${Math.round(report.averageWaitSeconds)} s`],
        ['Average rating', report.averageRating == null ? '—' : `${report.averageRating.toFixed(1)} / 5 (${report.ratings})`],
      ];
      replace(results, el('dl', { class: 'figures' }, figures.map(([term, value]) => [el('dt', { text: term }), el('dd', { text: value })])));
    } catch (failure) {
      error.textContent = failure.message;
    }
  }

  replace(main, el('section', { class: 'page', 'aria-label': 'Reports' },
    el('h2', { text: 'Reports' }),
    el('form', { class: 'filters card', onsubmit: (event) => { event.preventDefault(); load(); } },
      el('label', { class: 'field', for: 'report-from' }, 'From', from), el('label', { class: 'field', for: 'report-to' }, 'To', to),
      el('button', { class: 'primary', type: 'submit', text: 'Show' })),
    error, results));
  load();
}
