// Admin pages (owners and admins): sites with their widget settings, embed snippet and identity
// secret, departments, staff accounts, canned responses, the security policy (required 2FA,
// staff networks) and API tokens. Every change goes through the REST API, which enforces the
// same permissions.
import { el, replace } from '/shared/dom.js';
import { api } from '/console/api.js';
import { loadDirectory } from '/console/store.js';

const TABS = [['sites', 'Sites'], ['departments', 'Departments'], ['agents', 'Staff'], ['canned', 'Canned responses'], ['security', 'Security'], ['tokens', 'API tokens']];
const ROLES = ['agent', 'supervisor', 'auditor', 'admin', 'owner'];

/** One status line for the whole admin page: it survives the tab re-rendering after a change. */
const lines = { error: el('p', { class: 'error', role: 'alert' }), notice: el('p', { class: 'notice', role: 'status' }) };

export function renderAdmin(main, store, initialTab = 'sites') {
  const panel = el('div', { class: 'stack', role: 'tabpanel' });
  const tabs = el('div', { class: 'tabs', role: 'tablist' });
  let current = 'sites';
  const show = (tab) => {
    if (tab !== current) lines.error.textContent = lines.notice.textContent = '';
    current = tab;
    for (const button of tabs.children) button.setAttribute('aria-selected', String(button.dataset.tab === tab));
    ({ sites: sitesTab, departments: departmentsTab, agents: agentsTab, canned: cannedTab, security: securityTab, tokens: tokensTab })[tab](panel, store);
  };
  for (const [id, label] of TABS) tabs.append(el('button', { type: 'button', role: 'tab', id: `tab-${id}`, dataset: { tab: id }, onclick: () => show(id), text: label }));
  replace(main, el('section', { class: 'page', 'aria-label': 'Admin' }, el('h2', { text: 'Admin' }), tabs, lines.error, lines.notice, panel));
  store.listeners.add((reason) => { if (reason === 'directory') show(current); });
  show(initialTab);
}

async function attempt(action, success) {
  lines.error.textContent = '';
  lines.notice.textContent = '';
  try {
    await action();
    await loadDirectory();
    if (success) lines.notice.textContent = success;
  } catch (failure) {
    lines.error.textContent = failure.message;
  }
}

function field(label, input) {
  return el('label', { class: 'field', for: input.id }, label, input);
}

// MARK: Sites

function sitesTab(panel, store) {
  const name = el('input', { type: 'text', id: 'new-site-name', required: true, placeholder: 'Shop' });
  const origins = el('input', { type: 'text', id: 'new-site-origins', placeholder: 'https://shop.example' });
  const list = [...store.sites.values()].map((site) => siteCard(site, store));
  replace(panel,
    el('form', { class: 'card inline', onsubmit: (event) => {
      event.preventDefault();
      attempt(() => api('POST', '/v1/sites', { name: name.value, allowedOrigins: origins.value.split(/[\s,]+/).filter(Boolean) }), 'Site created.');
    } }, field('New site name', name), field('Allowed origins (space-separated)', origins), el('button', { class: 'primary', type: 'submit', text: 'Create site' })),
    list.length ? list : el('p', { class: 'empty', text: 'No sites yet.' }));
}

function siteCard(site, store) {
  const settings = structuredClone(site.settings);
  const id = (suffix) => `site-${site.id.slice(0, 8)}-${suffix}`;
  const name = el('input', { type: 'text', id: id('name'), value: site.name });
  const origins = el('textarea', { class: 'input', id: id('origins'), rows: '3' });
  origins.value = site.allowedOrigins.join('\n');
  const color = el('input', { type: 'color', id: id('color'), value: settings.color });
  const position = el('select', { id: id('position') }, ['right', 'left'].map((value) => el('option', { value, text: value, selected: settings.position === value })));
  const greeting = el('input', { type: 'text', id: id('greeting'), value: settings.greeting ?? '', maxlength: '200', placeholder: 'Default greeting in the visitor\'s language' });
  const language = el('select', { id: id('language') }, [['auto', 'Visitor\'s browser'], ['en', 'English'], ['hu', 'Magyar'], ['es', 'Español']]
    .map(([value, label]) => el('option', { value, text: label, selected: settings.language === value })));
  const preChat = el('input', { type: 'checkbox', id: id('prechat'), checked: settings.preChat.enabled });
  const askName = el('input', { type: 'checkbox', id: id('askname'), checked: settings.preChat.askName });
  const askEmail = el('input', { type: 'checkbox', id: id('askemail'), checked: settings.preChat.askEmail });
  const consent = el('input', { type: 'checkbox', id: id('consent'), checked: settings.consent.required });
  const policy = el('input', { type: 'url', id: id('policy'), value: settings.consent.privacyPolicyUrl ?? '', placeholder: 'https://shop.example/privacy' });
  const consentText = el('input', { type: 'text', id: id('consent-text'), value: settings.consent.text ?? '', maxlength: '1000', placeholder: 'Default text in the visitor\'s language' });
  const consentVersion = el('input', { type: 'text', id: id('consent-version'), value: settings.consent.version, maxlength: '32', pattern: '[A-Za-z0-9._\\-]+' });
  const mayDelete = el('input', { type: 'checkbox', id: id('may-delete'), checked: settings.visitorsMayDeleteConversations });
  const retention = el('input', { type: 'number', id: id('retention'), min: '1', max: '3650', value: settings.retentionDays ?? '', placeholder: 'keep' });
  const patterns = el('textarea', { class: 'input', id: id('patterns'), rows: '2', placeholder: 'ORD-######' });
  patterns.value = settings.redactionPatterns.join('\n');
  const rules = el('div', { class: 'stack' });
  const addRule = (rule = { seconds: 30, urlPattern: '*', message: '' }) => {
    const index = rules.childElementCount;
    const seconds = el('input', { type: 'number', min: '1', max: '3600', value: String(rule.seconds), id: id(`rule-${index}-seconds`) });
    const pattern = el('input', { type: 'text', value: rule.urlPattern, id: id(`rule-${index}-pattern`), placeholder: 'https://shop.example/checkout*' });
    const message = el('input', { type: 'text', value: rule.message, maxlength: '200', id: id(`rule-${index}-message`), placeholder: 'Need help with your order?' });
    const row = el('div', { class: 'rule', dataset: { rule: '' } }, field('Seconds', seconds), field('URL pattern (* = anything)', pattern), field('Greeting', message),
      el('button', { class: 'secondary', type: 'button', onclick: () => row.remove(), text: 'Remove' }));
    rules.append(row);
  };
  for (const rule of settings.proactive) addRule(rule);
  const verified = el('input', { type: 'checkbox', id: id('verified'), checked: site.requireVerifiedIdentity });
  const secretLine = el('p', { class: 'hint', text: site.hasIdentitySecret
    ? `An identity secret is set${site.previousSecretExpiresAt ? `; the previous one works until ${new Date(site.previousSecretExpiresAt).toLocaleString()}` : ''}.`
    : 'No identity secret yet: visitors cannot be verified.' });
  const rotate = el('button', { class: 'secondary', type: 'button', id: id('rotate'), text: site.hasIdentitySecret ? 'Rotate identity secret' : 'Create identity secret', onclick: async () => {
    lines.error.textContent = '';
    try {
      const rotated = await api('POST', `/v1/sites/${site.id}/identity-secret`, { graceHours: 24 });
      const shown = el('code', { class: 'secret', id: id('secret'), text: rotated.secret });
      replace(secretLine, 'New secret (shown only now; put it in your site\'s backend; the old one works for 24 hours): ', shown);
      rotate.disabled = true;
    } catch (failure) {
      lines.error.textContent = failure.message;
    }
  } });
  const snippet = el('textarea', { class: 'input snippet', id: id('snippet'), rows: '2', readonly: true, 'aria-label': 'Embed snippet' });
  snippet.value = `<script src="${location.origin}/widget.js" data-site="${site.widgetKey}" async></script>`;

  const save = (event) => {
    event.preventDefault();
    const proactive = [...rules.querySelectorAll('[data-rule]')].map((row) => {
      const inputs = row.querySelectorAll('input');
      return { seconds: Number(inputs[0].value), urlPattern: inputs[1].value.trim(), message: inputs[2].value.trim() };
    });
    const body = {
      name: name.value,
      allowedOrigins: origins.value.split(/[\s,]+/).filter(Boolean),
      // The whole settings object is replaced: start from what is stored, so that nothing this
      // form does not show is lost.
      settings: {
        ...settings,
        color: color.value, position: position.value, greeting: greeting.value.trim() || null, language: language.value,
        preChat: { enabled: preChat.checked, askName: askName.checked, askEmail: askEmail.checked },
        consent: { required: consent.checked, privacyPolicyUrl: policy.value.trim() || null, text: consentText.value.trim() || null, version: consentVersion.value.trim() },
        visitorsMayDeleteConversations: mayDelete.checked,
        retentionDays: retention.value ? Number(retention.value) : null,
        redactionPatterns: patterns.value.split(/\s+/).filter(Boolean),
        proactive,
      },
    };
    if (verified.checked !== site.requireVerifiedIdentity) body.requireVerifiedIdentity = verified.checked;
    attempt(() => api('PATCH', `/v1/sites/${site.id}`, body), 'Saved.');
  };

  return el('form', { class: 'card stack', dataset: { site: site.id }, onsubmit: save },
    el('h3', { text: site.name }),
    el('div', { class: 'grid' }, field('Name', name), field('Allowed origins (one per line)', origins)),
    el('div', { class: 'inline snippet-row' }, field('Embed on your pages', snippet),
      el('button', { class: 'secondary', type: 'button', onclick: () => navigator.clipboard?.writeText(snippet.value).then(() => { lines.notice.textContent = 'Copied.'; }), text: 'Copy' })),
    el('div', { class: 'grid' }, field('Colour', color), field('Position', position), field('Language', language), field('Greeting', greeting)),
    el('div', { class: 'checks' }, el('label', { for: preChat.id }, preChat, 'Pre-chat form'), el('label', { for: askName.id }, askName, 'ask name'),
      el('label', { for: askEmail.id }, askEmail, 'ask e-mail'), el('label', { for: consent.id }, consent, 'Require consent')),
    el('div', { class: 'grid' }, field('Privacy policy link', policy), field('Consent text', consentText),
      field('Consent version (change it to ask everyone again)', consentVersion)),
    el('div', { class: 'grid' }, field('Delete closed conversations after (days)', retention),
      field('Also hide in messages (# digit, @ letter, ? either; one per line)', patterns)),
    el('div', { class: 'checks' }, el('label', { for: mayDelete.id }, mayDelete, 'Visitors may delete their closed conversations')),
    blocklistSection(site),
    el('div', { class: 'stack' }, el('strong', { text: 'Verified visitors' }),
      el('div', { class: 'checks' }, el('label', { for: verified.id }, verified, 'Only visitors signed in on the site may chat')),
      el('div', { class: 'inline' }, rotate, secretLine)),
    el('div', { class: 'stack' }, el('strong', { text: 'Proactive invitations' }), rules,
      el('button', { class: 'secondary', type: 'button', onclick: () => addRule(), text: 'Add invitation' })),
    el('div', { class: 'inline' }, el('button', { class: 'primary', type: 'submit', text: 'Save site' }),
      el('button', { class: 'danger', type: 'button', onclick: () => { if (confirm(`Delete ${site.name} and all its conversations?`)) attempt(() => api('DELETE', `/v1/sites/${site.id}`), 'Deleted.'); }, text: 'Delete site' }),
      el('span', { class: 'hint', text: `Widget key ${site.widgetKey}` })));
}

/** A site's blocklist: addresses and networks, visitor ids, and message patterns, with expiry. */
function blocklistSection(site) {
  const id = (suffix) => `site-${site.id.slice(0, 8)}-block-${suffix}`;
  const body = el('div', { class: 'stack', id: id('list') });
  const kind = el('select', { id: id('kind') }, [['address', 'Address or network'], ['pattern', 'Words (* = anything)'], ['visitor', 'Visitor id']].map(([value, label]) => el('option', { value, text: label })));
  const value = el('input', { type: 'text', id: id('value'), placeholder: '203.0.113.0/24, *casino*, or a visitor id' });
  const hours = el('input', { type: 'number', id: id('hours'), min: '1', max: '87600', placeholder: 'forever' });
  // Changes here do not touch the directory: reload only this list (the page stays as it is).
  const change = async (action, notice) => {
    lines.error.textContent = lines.notice.textContent = '';
    try {
      await action();
      lines.notice.textContent = notice;
      await load();
    } catch (failure) {
      lines.error.textContent = failure.message;
    }
  };
  const load = async () => {
    const { items } = await api('GET', `/v1/sites/${site.id}/blocklist`);
    replace(body, items.length
      ? el('table', {}, el('tbody', {}, items.map((entry) => el('tr', {},
        el('td', { text: entry.kind }), el('td', {}, el('code', { text: entry.value })), el('td', { text: entry.reason }),
        el('td', { text: entry.expiresAt ? `until ${new Date(entry.expiresAt).toLocaleString()}` : 'no expiry' }),
        el('td', {}, el('button', { class: 'secondary', type: 'button', text: 'Remove', onclick: () => change(() => api('DELETE', `/v1/sites/${site.id}/blocklist/${entry.id}`), 'Removed.') }))))))
      : el('p', { class: 'empty', text: 'Nobody is blocked.' }));
  };
  const add = () => change(() => api('POST', `/v1/sites/${site.id}/blocklist`, {
    kind: kind.value, value: value.value, reason: 'Added in the console', expiresInHours: hours.value ? Number(hours.value) : undefined,
  }), 'Blocked.');
  const open = el('button', { class: 'secondary', type: 'button', id: id('open'), text: 'Show blocklist', onclick: () => { open.remove(); load(); } });
  return el('div', { class: 'stack' }, el('strong', { text: 'Blocklist' }),
    el('p', { class: 'hint', text: 'Blocked visitors are told only that chat is not available; nothing of theirs is stored.' }),
    el('div', { class: 'grid' }, field('Block', kind), field('Value', value), field('Hours (empty: until removed)', hours)),
    el('div', { class: 'inline' }, el('button', { class: 'secondary', type: 'button', id: id('add'), text: 'Block', onclick: add }), open), body);
}

// MARK: Departments

function departmentsTab(panel, store) {
  const name = el('input', { type: 'text', id: 'new-department', required: true });
  const rows = [...store.departments.values()].map((department) => {
    const input = el('input', { type: 'text', value: department.name, 'aria-label': `Name of ${department.name}` });
    return el('tr', {}, el('td', {}, input), el('td', {},
      el('button', { class: 'secondary', type: 'button', onclick: () => attempt(() => api('PATCH', `/v1/departments/${department.id}`, { name: input.value }), 'Renamed.'), text: 'Rename' }), ' ',
      el('button', { class: 'danger', type: 'button', onclick: () => attempt(() => api('DELETE', `/v1/departments/${department.id}`), 'Deleted.'), text: 'Delete' })));
  });
  replace(panel,
    el('form', { class: 'card inline', onsubmit: (event) => { event.preventDefault(); attempt(() => api('POST', '/v1/departments', { name: name.value }), 'Department created.'); } },
      field('New department', name), el('button', { class: 'primary', type: 'submit', text: 'Create' })),
    el('div', { class: 'card' }, rows.length ? el('table', {}, el('tbody', {}, rows)) : el('p', { class: 'empty', text: 'No departments: every agent takes every conversation.' })));
}

// MARK: Staff

function departmentChecks(store, selected, prefix) {
  return el('div', { class: 'checks' }, [...store.departments.values()].map((department) => {
    const box = el('input', { type: 'checkbox', id: `${prefix}-${department.id.slice(0, 8)}`, value: department.id, checked: selected.includes(department.id) });
    return el('label', { for: box.id }, box, department.name);
  }));
}

function checkedValues(container) {
  return [...container.querySelectorAll('input[type="checkbox"]:checked')].map((box) => box.value);
}

function roleSelect(id, current, store) {
  const roles = store.permissions.has('manageOwners') ? ROLES : ROLES.filter((role) => role !== 'owner');
  return el('select', { id }, roles.map((role) => el('option', { value: role, text: role, selected: role === current })));
}

function agentsTab(panel, store) {
    const email = el('input', { type: 'email', id: 'new-agent-email', required: true });
  const name = el('input', { type: 'text', id: 'new-agent-name', required: true });
  const password = el('input', { type: 'password', id: 'new-agent-password', required: true, minlength: '12', autocomplete: 'new-password' });
  const role = roleSelect('new-agent-role', 'agent', store);
  const limit = el('input', { type: 'number', id: 'new-agent-limit', min: '1', max: '100', value: '5' });
  const departments = departmentChecks(store, [], 'new-agent-department');
  const create = (event) => {
    event.preventDefault();
    attempt(() => api('POST', '/v1/agents', {
      email: email.value, displayName: name.value, password: password.value, role: role.value, maxConversations: Number(limit.value), departments: checkedValues(departments),
    }), 'Account created.');
  };
  const rows = [...store.agents.values()].map((agent) => {
    const agentRole = roleSelect(`agent-${agent.id.slice(0, 8)}-role`, agent.role, store);
    const agentLimit = el('input', { type: 'number', min: '1', max: '100', value: String(agent.maxConversations), 'aria-label': `Limit of ${agent.displayName}` });
    const agentDepartments = departmentChecks(store, agent.departments, `agent-${agent.id.slice(0, 8)}-department`);
    return el('tr', { dataset: { agent: agent.id } },
      el('td', {}, el('strong', { text: agent.displayName }), el('div', { class: 'hint', text: agent.email })),
      el('td', {}, agentRole), el('td', {}, agentLimit), el('td', {}, agentDepartments),
      el('td', {}, el('span', { class: `pill ${agent.active ? 'online' : 'closed'}`, text: agent.active ? 'active' : 'deactivated' }),
        el('div', { class: 'hint', text: agent.twoFactorEnabled ? '2FA on' : '2FA off' })),
      el('td', {},
        el('button', { class: 'secondary', type: 'button', text: 'Save', onclick: () => attempt(() => api('PATCH', `/v1/agents/${agent.id}`, {
          role: agentRole.value, maxConversations: Number(agentLimit.value), departments: checkedValues(agentDepartments),
        }), 'Saved.') }), ' ',
        agent.active
          ? el('button', { class: 'danger', type: 'button', text: 'Deactivate', onclick: () => attempt(() => api('DELETE', `/v1/agents/${agent.id}`), 'Deactivated.') })
          : el('button', { class: 'secondary', type: 'button', text: 'Reactivate', onclick: () => attempt(() => api('PATCH', `/v1/agents/${agent.id}`, { active: true }), 'Reactivated.') }), ' ',
        el('button', { class: 'secondary', type: 'button', text: 'Sign out everywhere', onclick: () => attempt(() => api('DELETE', `/v1/agents/${agent.id}/sessions`), `${agent.displayName} is signed out everywhere.`) }), ' ',
        agent.twoFactorEnabled ? el('button', { class: 'secondary', type: 'button', text: 'Reset 2FA', onclick: () => { if (confirm(`Remove ${agent.displayName}'s two-factor authentication (a lost phone)?`)) attempt(() => api('DELETE', `/v1/agents/${agent.id}/2fa`), '2FA removed; they set it up again at next sign-in if required.'); } }) : null,
        ' ', el('button', { class: 'secondary', type: 'button', text: 'Reset password', onclick: () => {
          const password = prompt(`A temporary password for ${agent.displayName} (12+ characters). They must choose their own at next sign-in.`);
          if (password) attempt(() => api('PATCH', `/v1/agents/${agent.id}`, { password }), 'Password reset; their sessions ended.');
        } })));
  });
  replace(panel,
    el('form', { class: 'card stack', onsubmit: create }, el('h3', { text: 'New staff account' }),
      el('div', { class: 'grid' }, field('E-mail', email), field('Display name', name), field('Password (12+ characters)', password), field('Role', role), field('Concurrent chats', limit)),
      departments, el('button', { class: 'primary', type: 'submit', text: 'Create account' })),
    el('div', { class: 'card' }, el('table', {}, el('thead', {}, el('tr', {}, ['Name', 'Role', 'Limit', 'Departments', 'Status', ''].map((head) => el('th', { text: head })))), el('tbody', {}, rows))));
}

// MARK: Canned responses

async function cannedTab(panel, store) {
    const { items } = await api('GET', '/v1/canned-responses');
  const departmentSelect = (id, current) => el('select', { id }, el('option', { value: '', text: 'All departments' }),
    [...store.departments.values()].map((department) => el('option', { value: department.id, text: department.name, selected: department.id === current })));
  const shortcut = el('input', { type: 'text', id: 'new-canned-shortcut', required: true, pattern: '[a-z0-9_\\-]{1,32}', placeholder: 'hello' });
  const body = el('textarea', { class: 'input', id: 'new-canned-body', rows: '2', required: true });
  const scope = departmentSelect('new-canned-department', null);
  const rows = items.map((canned) => {
    const text = el('textarea', { class: 'input', rows: '2', 'aria-label': `Text of /${canned.shortcut}` });
    text.value = canned.body;
    const key = el('input', { type: 'text', value: canned.shortcut, 'aria-label': 'Shortcut' });
    const where = departmentSelect(`canned-${canned.id.slice(0, 8)}-department`, canned.departmentId);
    return el('tr', {}, el('td', {}, key), el('td', {}, where), el('td', {}, text), el('td', {},
      el('button', { class: 'secondary', type: 'button', text: 'Save', onclick: () => attempt(() => api('PATCH', `/v1/canned-responses/${canned.id}`, { shortcut: key.value, body: text.value, departmentId: where.value || null }), 'Saved.').then(() => cannedTab(panel, store)) }), ' ',
      el('button', { class: 'danger', type: 'button', text: 'Delete', onclick: () => attempt(() => api('DELETE', `/v1/canned-responses/${canned.id}`), 'Deleted.').then(() => cannedTab(panel, store)) })));
  });
  replace(panel,
    el('form', { class: 'card stack', onsubmit: (event) => {
      event.preventDefault();
      attempt(() => api('POST', '/v1/canned-responses', { shortcut: shortcut.value, body: body.value, departmentId: scope.value || null }), 'Created.').then(() => cannedTab(panel, store));
    } }, el('h3', { text: 'New canned response' }), el('div', { class: 'grid' }, field('Shortcut (typed as /shortcut)', shortcut), field('Department', scope)), field('Text', body),
    el('button', { class: 'primary', type: 'submit', text: 'Create' })),
    el('div', { class: 'card' }, rows.length ? el('table', {}, el('thead', {}, el('tr', {}, ['Shortcut', 'Department', 'Text', ''].map((head) => el('th', { text: head })))), el('tbody', {}, rows))
      : el('p', { class: 'empty', text: 'No canned responses yet.' })));
}

// MARK: Security policy

async function securityTab(panel, store) {
  const [{ policy, yourAddress }, reports, alerts] = await Promise.all([
    api('GET', '/v1/security/policy'), api('GET', '/v1/csp-reports'), api('GET', '/v1/security/alerts?open=true')]);
  const acknowledge = (alert) => attempt(() => api('POST', `/v1/security/alerts/${encodeURIComponent(alert.id)}/acknowledge`), 'Alert acknowledged.')
    .then(() => securityTab(panel, store));
  const alertsCard = el('div', { class: 'card stack', id: 'security-alerts' }, el('h3', { text: 'Open security alerts' }),
    el('p', { class: 'hint', text: 'Raised from the audit log: a member opening many transcripts in a short time, and every bulk export.' }),
    alerts.items.length
      ? el('table', {}, el('thead', {}, el('tr', {}, ['When', 'What', ''].map((head) => el('th', { text: head })))),
        el('tbody', {}, alerts.items.map((alert) => el('tr', {},
          el('td', { text: new Date(alert.raisedAt).toLocaleString() }), el('td', { text: alert.summary }),
          el('td', {}, el('button', { class: 'secondary', type: 'button', text: 'Acknowledge', onclick: () => acknowledge(alert) }))))))
      : el('p', { class: 'empty', text: 'No open alerts.' }));
  const twoFactor = el('div', { class: 'checks', id: 'policy-2fa' }, ROLES.map((role) => {
    const box = el('input', { type: 'checkbox', id: `policy-2fa-${role}`, value: role, checked: policy.requireTwoFactor.includes(role) });
    return el('label', { for: box.id }, box, role);
  }));
  const masked = el('div', { class: 'checks', id: 'policy-mask' }, ['supervisor', 'agent'].map((role) => {
    const box = el('input', { type: 'checkbox', id: `policy-mask-${role}`, value: role, checked: policy.maskPersonalData.includes(role) });
    return el('label', { for: box.id }, box, role);
  }));
  const networks = el('textarea', { class: 'input', id: 'policy-networks', rows: '3', placeholder: '203.0.113.0/24\n2001:db8::/32' });
  networks.value = policy.staffNetworks.join('\n');
  const perRole = ROLES.map((role) => {
    const area = el('textarea', { class: 'input', id: `policy-networks-${role}`, rows: '2', dataset: { role } });
    area.value = (policy.roleNetworks[role] ?? []).join('\n');
    return field(`Only for ${role}s`, area);
  });
  const list = (text) => text.split(/[\s,]+/).filter(Boolean);
  const save = async (confirmSelfLockout) => {
    const roleNetworks = {};
    for (const area of panel.querySelectorAll('textarea[data-role]')) if (list(area.value).length) roleNetworks[area.dataset.role] = list(area.value);
    const body = { policy: { requireTwoFactor: checkedValues(twoFactor), staffNetworks: list(networks.value), roleNetworks, maskPersonalData: checkedValues(masked) }, confirmSelfLockout };
    lines.error.textContent = lines.notice.textContent = '';
    try {
      await api('PUT', '/v1/security/policy', body);
      lines.notice.textContent = 'Security policy saved.';
    } catch (failure) {
      if (failure.code === 'self_lockout' && confirm(`${failure.message}\n\nSave anyway? Only the server's operator can undo it (confidant access reset-ip-allowlist).`)) return save(true);
      lines.error.textContent = failure.message;
    }
  };
  replace(panel, alertsCard, el('form', { class: 'card stack', onsubmit: (event) => { event.preventDefault(); save(false); } },
    el('h3', { text: 'Two-factor authentication' }),
    el('p', { class: 'hint', text: 'Members of these roles must set up 2FA before they can use anything else.' }), twoFactor,
    el('h3', { text: 'Personal data' }),
    el('p', { class: 'hint', text: 'Members of these roles see visitors\' names and e-mail addresses masked (initials only).' }), masked,
    el('h3', { text: 'Staff networks' }),
    el('p', { class: 'hint', text: `Addresses or CIDR networks (IPv4 or IPv6) staff may sign in and work from; empty allows any. Your address: ${yourAddress}.` }),
    field('Every staff member', networks), el('div', { class: 'grid' }, perRole),
    el('button', { class: 'primary', type: 'submit', text: 'Save policy' })),
  el('div', { class: 'card stack', id: 'csp-reports' }, el('h3', { text: 'Content-Security-Policy violations' }),
    el('p', { class: 'hint', text: 'What browsers refused to load or run on Confidant\'s pages, newest first (the last 1,000 are kept).' }),
    reports.items.length
      ? el('table', {}, el('thead', {}, el('tr', {}, ['When', 'Page', 'Directive', 'Blocked', 'Source', 'From'].map((head) => el('th', { text: head })))),
        el('tbody', {}, reports.items.map((report) => el('tr', {},
          el('td', { text: new Date(report.receivedAt).toLocaleString() }), el('td', { text: report.documentUri }), el('td', {}, el('code', { text: report.directive })),
          el('td', { text: report.blockedUri }), el('td', { text: report.source }), el('td', { text: report.address })))))
      : el('p', { class: 'empty', text: 'No violations reported.' })));
}

// MARK: API tokens

async function tokensTab(panel, store) {
  const { items } = await api('GET', '/v1/api-tokens');
  const name = el('input', { type: 'text', id: 'new-token-name', required: true, placeholder: 'CRM sync' });
  const days = el('input', { type: 'number', id: 'new-token-days', min: '1', max: '365', value: '90' });
  const networks = el('input', { type: 'text', id: 'new-token-networks', placeholder: 'optional: 203.0.113.0/24' });
  const scopes = el('div', { class: 'checks', id: 'new-token-scopes' }, [...store.permissions].filter((permission) => permission !== 'manageAPITokens').map((permission) => {
    const box = el('input', { type: 'checkbox', id: `scope-${permission}`, value: permission });
    return el('label', { for: box.id }, box, permission);
  }));
  const shown = el('div', { class: 'notice', role: 'status' });
  const rows = items.map((token) => el('tr', { class: token.revokedAt ? 'revoked' : '' },
    el('td', { text: token.name }), el('td', { text: token.scopes.join(', ') }), el('td', { text: token.allowedNetworks.join(', ') || 'any' }),
    el('td', { text: new Date(token.expiresAt).toLocaleDateString() }), el('td', { text: token.lastUsedAt ? new Date(token.lastUsedAt).toLocaleString() : 'never' }),
    el('td', {}, token.revokedAt ? 'revoked' : el('button', { class: 'danger', type: 'button', text: 'Revoke', onclick: () => attempt(() => api('DELETE', `/v1/api-tokens/${token.id}`), 'Revoked.').then(() => tokensTab(panel, store)) }))));
  replace(panel,
    el('form', { class: 'card stack', onsubmit: async (event) => {
      event.preventDefault();
      lines.error.textContent = '';
      try {
        const created = await api('POST', '/v1/api-tokens', { name: name.value, scopes: checkedValues(scopes), expiresInDays: Number(days.value), allowedNetworks: networks.value.split(/[\s,]+/).filter(Boolean) });
        await tokensTab(panel, store);
        panel.prepend(el('div', { class: 'card notice', role: 'status' }, 'New token (shown only now; send it as "Authorization: Bearer …"): ', el('code', { class: 'secret', id: 'new-token-value', text: created.token })));
      } catch (failure) {
        lines.error.textContent = failure.message;
      }
    } }, el('h3', { text: 'New API token' }),
    el('div', { class: 'grid' }, field('Name', name), field('Valid for days', days), field('Only from networks', networks)),
    el('p', { class: 'hint', text: 'It acts as you, limited to these scopes:' }), scopes, shown,
    el('button', { class: 'primary', type: 'submit', text: 'Create token' })),
    el('div', { class: 'card' }, rows.length ? el('table', {}, el('thead', {}, el('tr', {}, ['Name', 'Scopes', 'Networks', 'Expires', 'Last used', ''].map((head) => el('th', { text: head })))), el('tbody', {}, rows))
      : el('p', { class: 'empty', text: 'No API tokens.' })));
}
