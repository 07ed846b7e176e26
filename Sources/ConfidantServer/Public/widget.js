// Confidant widget loader. A site embeds it with one line:
//   <script src="https://CONFIDANT-HOST/widget.js" data-site="SITE_KEY" async></script>
// A site that signs in its customers adds `data-identity-token="…"` (made by its backend, see
// docs/security.md, "Verified visitors"), or calls `Confidant.identify(token)` later.
// It adds a chat button and an iframe served from Confidant's own origin, so the host page's
// scripts never see the conversation. It sets styles through the CSSOM only (no inline style
// markup), so it works on pages with a strict Content Security Policy.
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || window.__confidantWidget) return;
  const siteKey = script.dataset.site;
  const origin = new URL(script.src).origin;
  if (!siteKey) return;
  window.__confidantWidget = true;
  let identityToken = script.dataset.identityToken || null;
  window.Confidant = Object.freeze({
    /** Tells the chat who the signed-in customer is (a token signed by the site's backend). */
    identify(token) {
      if (typeof token !== 'string' || token.length > 4096) return;
      identityToken = token;
      if (state.ready) post({ type: 'confidant:identify', token });
    },
  });

  const dismissedKey = `confidant.invitation.dismissed.${siteKey}`;
  const state = { open: false, ready: false, position: 'right', color: '#2563eb', labels: { open: 'Open chat', close: 'Close chat', dismiss: 'Dismiss' }, bubble: null };

  const root = document.createElement('div');
  root.id = 'confidant-widget';
  css(root, { position: 'fixed', zIndex: '2147483000', bottom: '20px', right: '20px', display: 'none', fontFamily: 'system-ui, sans-serif' });

  const frame = document.createElement('iframe');
  frame.title = 'Chat';
  frame.referrerPolicy = 'origin';
  frame.allow = 'clipboard-write';
  frame.src = `${origin}/widget/frame?site=${encodeURIComponent(siteKey)}`;
  css(frame, {
    display: 'none', border: '0', borderRadius: '16px', boxShadow: '0 12px 40px rgba(0,0,0,0.22)', background: '#fff',
    width: '380px', height: '600px', maxHeight: 'calc(100vh - 110px)', maxWidth: 'calc(100vw - 40px)', marginBottom: '14px',
  });

  const button = document.createElement('button');
  button.type = 'button';
  button.setAttribute('aria-haspopup', 'dialog');
  button.setAttribute('aria-expanded', 'false');
  css(button, {
    width: '58px', height: '58px', borderRadius: '50%', border: '0', cursor: 'pointer', display: 'grid', placeItems: 'center',
    boxShadow: '0 6px 20px rgba(0,0,0,0.25)', color: '#fff', position: 'relative', float: 'right', padding: '0',
  });
  let icon = chatIcon();
  button.append(icon);

  const badge = document.createElement('span');
  css(badge, {
    position: 'absolute', top: '-4px', right: '-4px', minWidth: '20px', height: '20px', borderRadius: '10px', background: '#dc2626',
    color: '#fff', fontSize: '12px', fontWeight: '700', display: 'none', alignItems: 'center', justifyContent: 'center', padding: '0 5px',
  });
  badge.setAttribute('aria-hidden', 'true');
  button.append(badge);

  button.addEventListener('click', () => setOpen(!state.open));
  root.append(frame, button);

  const phone = window.matchMedia('(max-width: 480px)');
  phone.addEventListener('change', layout);

  window.addEventListener('message', (event) => {
    // Only our own frame, from Confidant's origin, is listened to.
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    const message = event.data;
    if (!message || typeof message !== 'object') return;
    switch (message.type) {
      case 'confidant:ready':
        ready(message);
        break;
      case 'confidant:unread':
        setUnread(Number(message.count) || 0);
        break;
      case 'confidant:hide':
        setOpen(false);
        break;
    }
  });

  function ready(message) {
    state.ready = true;
    if (/^#[0-9a-f]{6}$/i.test(message.color)) state.color = message.color;
    if (message.position === 'left' || message.position === 'right') state.position = message.position;
    if (message.labels && typeof message.labels === 'object') {
      for (const key of ['open', 'close', 'dismiss', 'title']) if (typeof message.labels[key] === 'string') state.labels[key] = message.labels[key];
    }
    if (state.labels.title) frame.title = state.labels.title;
    button.style.background = state.color;
    root.style.display = 'block';
    layout();
    post({ type: 'confidant:host', url: location.href, identityToken });
    scheduleInvitation(Array.isArray(message.proactive) ? message.proactive : []);
  }

  function setOpen(open) {
    state.open = open;
    frame.style.display = open ? 'block' : 'none';
    button.setAttribute('aria-expanded', String(open));
    button.setAttribute('aria-label', open ? state.labels.close : state.labels.open);
    button.title = open ? state.labels.close : state.labels.open;
    const next = open ? closeIcon() : chatIcon();
    icon.replaceWith(next);
    icon = next;
    if (open) {
      hideInvitation();
      setUnread(0);
      frame.focus();
    } else {
      button.focus();
    }
    layout();
    post({ type: open ? 'confidant:open' : 'confidant:hidden' });
  }

  function setUnread(count) {
    badge.textContent = count > 9 ? '9+' : String(count);
    badge.style.display = count > 0 && !state.open ? 'flex' : 'none';
    button.setAttribute('aria-label', count > 0 && !state.open ? `${state.labels.open} (${count})` : state.open ? state.labels.close : state.labels.open);
  }

  function layout() {
    const side = state.position;
    root.style.left = side === 'left' ? '20px' : 'auto';
    root.style.right = side === 'right' ? '20px' : 'auto';
    button.style.cssFloat = side;
    if (phone.matches && state.open) {
      css(root, { top: '0', bottom: '0', left: '0', right: '0' });
      css(frame, { width: '100vw', height: 'calc(100vh - 80px)', maxWidth: '100vw', maxHeight: 'none', borderRadius: '0', marginBottom: '8px' });
      button.style.marginRight = side === 'right' ? '16px' : '0';
      button.style.marginLeft = side === 'left' ? '16px' : '0';
    } else {
      css(root, { top: 'auto', bottom: '20px' });
      css(frame, { width: '380px', height: '600px', maxWidth: 'calc(100vw - 40px)', maxHeight: 'calc(100vh - 110px)', borderRadius: '16px', marginBottom: '14px' });
      button.style.marginRight = '0';
      button.style.marginLeft = '0';
    }
  }

  // Proactive invitations: the first rule whose URL pattern matches this page opens a greeting
  // bubble after its delay, unless the visitor dismissed one in this tab or opened the chat.
  function scheduleInvitation(rules) {
    if (sessionStorage.getItem(dismissedKey)) return;
    const rule = rules.find((candidate) => typeof candidate?.urlPattern === 'string' && matches(candidate.urlPattern, location.href));
    if (!rule) return;
    setTimeout(() => {
      if (!state.open && !sessionStorage.getItem(dismissedKey)) showInvitation(String(rule.message));
    }, Math.min(Math.max(Number(rule.seconds) || 0, 1), 3600) * 1000);
  }

  /** `*` matches any run of characters; everything else matches itself. Linear, no regex. */
  function matches(pattern, url) {
    const parts = pattern.split('*');
    if (parts.length === 1) return pattern === url;
    if (!url.startsWith(parts[0])) return false;
    let index = parts[0].length;
    for (const part of parts.slice(1, -1)) {
      const found = url.indexOf(part, index);
      if (found < 0) return false;
      index = found + part.length;
    }
    const last = parts[parts.length - 1];
    return url.length - last.length >= index && url.endsWith(last);
  }

  function showInvitation(text) {
    const bubble = document.createElement('div');
    bubble.setAttribute('role', 'dialog');
    bubble.setAttribute('aria-live', 'polite');
    css(bubble, {
      background: '#fff', color: '#111827', borderRadius: '14px', boxShadow: '0 8px 28px rgba(0,0,0,0.2)', padding: '12px 36px 12px 14px',
      marginBottom: '12px', maxWidth: '280px', fontSize: '14px', lineHeight: '1.4', position: 'relative', cursor: 'pointer',
    });
    const message = document.createElement('span');
    message.textContent = text;
    const dismiss = document.createElement('button');
    dismiss.type = 'button';
    dismiss.textContent = '×';
    dismiss.setAttribute('aria-label', state.labels.dismiss);
    css(dismiss, { position: 'absolute', top: '4px', right: '6px', border: '0', background: 'none', fontSize: '20px', cursor: 'pointer', color: '#6b7280' });
    dismiss.addEventListener('click', (event) => {
      event.stopPropagation();
      sessionStorage.setItem(dismissedKey, '1');
      hideInvitation();
    });
    bubble.addEventListener('click', () => setOpen(true));
    bubble.append(message, dismiss);
    root.insertBefore(bubble, frame);
    state.bubble = bubble;
  }

  function hideInvitation() {
    state.bubble?.remove();
    state.bubble = null;
  }

  function post(message) {
    frame.contentWindow?.postMessage(message, origin);
  }

  function css(element, styles) {
    for (const [name, value] of Object.entries(styles)) element.style[name] = value;
  }

  function svg(path) {
    const ns = 'http://www.w3.org/2000/svg';
    const image = document.createElementNS(ns, 'svg');
    image.setAttribute('viewBox', '0 0 24 24');
    image.setAttribute('width', '26');
    image.setAttribute('height', '26');
    image.setAttribute('aria-hidden', 'true');
    const shape = document.createElementNS(ns, 'path');
    shape.setAttribute('d', path);
    shape.setAttribute('fill', 'currentColor');
    image.append(shape);
    return image;
  }

  function chatIcon() {
    return svg('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z');
  }

  function closeIcon() {
    return svg('M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z');
  }

  button.setAttribute('aria-label', state.labels.open);
  if (document.body) document.body.append(root);
  else document.addEventListener('DOMContentLoaded', () => document.body.append(root));
})();
