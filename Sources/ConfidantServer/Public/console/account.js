// One's own credentials: the second step of signing in, 2FA enrollment (with the QR code the
// server renders), the password, and the list of one's sessions. Every step that raises a
// session's stage answers with a new session; `useSession` keeps its CSRF token.
import { el, replace } from '/shared/dom.js';
import { api, useSession } from '/console/api.js';

function form(title, intro, fields, submitText, onsubmit) {
  const error = el('p', { class: 'error', role: 'alert' });
  const submit = el('button', { class: 'primary', type: 'submit', text: submitText });
  const node = el('form', {
    class: 'stack',
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.textContent = '';
      try {
        await onsubmit();
      } catch (failure) {
        error.textContent = failure.message;
      } finally {
        submit.disabled = false;
      }
    },
  }, title ? el('h2', { text: title }) : null, intro ? el('p', { class: 'hint', text: intro }) : null, fields, error, submit);
  return node;
}

function input(id, label, props = {}) {
  const field = el('input', { id, ...props });
  return { field, label: el('label', { class: 'field', for: id }, label, field) };
}

/** The second step of signing in: a code from the authenticator app, or a recovery code. */
export function renderSecondFactor(container, onDone) {
  const code = input('second-factor-code', 'Code from your authenticator app', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', pattern: '[0-9]{6}', required: true });
  const recovery = input('second-factor-recovery', 'Recovery code', { autocomplete: 'off', maxlength: '32' });
  recovery.label.hidden = true;
  let useRecovery = false;
  const toggle = el('button', {
    class: 'link', type: 'button', text: 'Use a recovery code instead',
    onclick: () => {
      useRecovery = !useRecovery;
      code.label.hidden = useRecovery;
      code.field.required = !useRecovery;
      recovery.label.hidden = !useRecovery;
      recovery.field.required = useRecovery;
      toggle.textContent = useRecovery ? 'Use a code from the app instead' : 'Use a recovery code instead';
      (useRecovery ? recovery : code).field.focus();
    },
  });
  replace(container, form('Two-step sign-in', 'Enter the 6-digit code your authenticator app shows for Confidant.', [code.label, recovery.label, toggle], 'Verify', async () => {
    const body = useRecovery ? { recoveryCode: recovery.field.value } : { code: code.field.value };
    onDone(useSession(await api('POST', '/v1/auth/2fa/verify', body)));
  }));
  code.field.focus();
}

/** 2FA enrollment: (password) → QR code and key → a valid code → the recovery codes, once. */
export function renderEnrollment(container, { needsPassword, forced }, onDone) {
  const password = input('enroll-password', 'Your current password', { type: 'password', autocomplete: 'current-password', required: true });
  const start = async () => {
    const enrollment = await api('POST', '/v1/auth/2fa/enroll', needsPassword ? { password: password.field.value } : {});
    showCode(enrollment);
  };
  const intro = forced ? 'Your organization requires two-factor authentication. Set it up to continue.' : 'Protect your account with a code from an authenticator app.';
  if (needsPassword) replace(container, form('Set up two-factor authentication', intro, [password.label], 'Continue', start));
  else {
    replace(container, el('p', { class: 'loading', text: 'Preparing your QR code…' }));
    start().catch((failure) => replace(container, el('p', { class: 'error', role: 'alert', text: failure.message })));
  }

  function showCode(enrollment) {
    const code = input('enroll-code', 'Code from the app', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', pattern: '[0-9]{6}', required: true });
    // The SVG comes from our own server; as an image it cannot run anything.
    const qr = el('img', { class: 'qr', id: 'enroll-qr', alt: 'QR code for your authenticator app', src: `data:image/svg+xml;base64,${btoa(enrollment.qrSVG)}` });
    const key = el('code', { class: 'secret', id: 'enroll-secret', text: enrollment.secret.replace(/(.{4})/g, '$1 ').trim() });
    replace(container, form('Scan the QR code', intro, [
      el('ol', { class: 'steps' },
        el('li', { text: 'Open your authenticator app (1Password, Google Authenticator, Aegis, …) and add an account.' }),
        el('li', {}, 'Scan this code, or type the key: ', key),
        el('li', { text: 'Enter the 6-digit code it shows.' })),
      qr, code.label,
    ], 'Turn on', async () => {
      const confirmed = await api('POST', '/v1/auth/2fa/confirm', { code: code.field.value });
      useSession(confirmed.session);
      showRecoveryCodes(confirmed.recoveryCodes, () => onDone(confirmed.session));
    }));
    code.field.focus();
  }

  function showRecoveryCodes(codes, next) {
    replace(container, el('div', { class: 'stack' },
      el('h2', { text: 'Save your recovery codes' }),
      el('p', { class: 'hint', text: 'Each code signs you in once if you lose your phone. They are shown only now: store them in your password manager.' }),
      el('ul', { class: 'recovery-codes', id: 'recovery-codes' }, codes.map((code) => el('li', {}, el('code', { text: code })))),
      el('button', { class: 'primary', type: 'button', id: 'recovery-saved', text: 'I saved them', onclick: next })));
  }
}

/** Choosing a new password (forced after an admin reset, or by choice). */
export function renderPasswordChange(container, { forced }, onDone) {
  const current = input('password-current', forced ? 'The password you were given' : 'Current password', { type: 'password', autocomplete: 'current-password', required: true });
  const next = input('password-new', 'New password (12 characters or more)', { type: 'password', autocomplete: 'new-password', minlength: '12', required: true });
  replace(container, form(forced ? 'Choose your password' : 'Change password', forced ? 'An admin set your password. Choose your own to continue.' : 'Your other sessions end when you change it.', [current.label, next.label], 'Change password', async () => {
    onDone(useSession(await api('POST', '/v1/auth/password', { currentPassword: current.field.value, newPassword: next.field.value })));
  }));
  if (forced) current.field.focus();
}

/** The Account page: two-factor authentication, password, sessions. */
export function renderAccount(main, store, session) {
  const twoFactor = el('div', { class: 'card stack', id: 'account-2fa' });
  const password = el('div', { class: 'card stack' });
  const sessions = el('div', { class: 'card stack', id: 'account-sessions' });
  const notice = el('p', { class: 'notice', role: 'status' });
  replace(main, el('section', { class: 'page', 'aria-label': 'Account' }, el('h2', { text: 'Account' }), notice, twoFactor, password, sessions));

  function renderTwoFactor() {
    const enabled = store.me.twoFactorEnabled;
    const reauth = (id) => {
      const field = input(`${id}-password`, 'Current password', { type: 'password', autocomplete: 'current-password', required: true });
      const code = input(`${id}-code`, 'Current code', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', required: true });
      return { field, code };
    };
    if (!enabled) {
      replace(twoFactor, el('h3', { text: 'Two-factor authentication' }), el('p', { text: 'Off. Anyone with your password can sign in as you.' }),
        el('button', { class: 'primary', type: 'button', id: 'enroll-start', text: 'Set up two-factor authentication', onclick: () => renderEnrollment(twoFactor, { needsPassword: true, forced: false }, () => { store.me.twoFactorEnabled = true; notice.textContent = 'Two-factor authentication is on.'; renderTwoFactor(); }) }));
      return;
    }
    const disable = reauth('disable');
    const regenerate = reauth('regenerate');
    replace(twoFactor, el('h3', { text: 'Two-factor authentication' }),
      el('p', { text: `On. ${session.recoveryCodesLeft ?? '?'} recovery codes left.` }),
      form(null, 'New recovery codes (the old ones stop working):', [regenerate.field.label, regenerate.code.label], 'New recovery codes', async () => {
        const result = await api('POST', '/v1/auth/2fa/recovery-codes', { password: regenerate.field.field.value, code: regenerate.code.field.value });
        replace(twoFactor, el('h3', { text: 'Your new recovery codes' }), el('ul', { class: 'recovery-codes' }, result.recoveryCodes.map((code) => el('li', {}, el('code', { text: code })))),
          el('button', { class: 'secondary', type: 'button', text: 'Done', onclick: renderTwoFactor }));
      }),
      form(null, 'Turn off two-factor authentication:', [disable.field.label, disable.code.label], 'Turn off', async () => {
        await api('POST', '/v1/auth/2fa/disable', { password: disable.field.field.value, code: disable.code.field.value });
        store.me.twoFactorEnabled = false;
        notice.textContent = 'Two-factor authentication is off.';
        renderTwoFactor();
      }));
  }

  async function renderSessions() {
    const list = await api('GET', '/v1/auth/sessions');
    replace(sessions, el('h3', { text: 'Where you are signed in' }),
      el('table', {}, el('thead', {}, el('tr', {}, ['Device', 'Address', 'Signed in', 'Last seen', ''].map((head) => el('th', { text: head })))),
        el('tbody', {}, list.items.map((item) => el('tr', {},
          el('td', { text: item.userAgent || 'Unknown device' }), el('td', { text: item.address }),
          el('td', { text: new Date(item.createdAt).toLocaleString() }), el('td', { text: new Date(item.lastSeenAt).toLocaleString() }),
          el('td', {}, item.current ? el('span', { class: 'pill', text: 'This session' }) : el('button', {
            class: 'secondary', type: 'button', text: 'Sign out', dataset: { session: item.id },
            onclick: async () => { await api('DELETE', `/v1/auth/sessions/${item.id}`); notice.textContent = 'That session ended.'; renderSessions(); },
          })))))));
  }

  renderTwoFactor();
  renderPasswordChange(password, { forced: false }, () => { notice.textContent = 'Password changed. Your other sessions ended.'; renderSessions(); });
  renderSessions().catch((failure) => replace(sessions, el('p', { class: 'error', role: 'alert', text: failure.message })));
}
