// Builds DOM from data. Anything a person typed only ever becomes a text node: Confidant's front
// ends never parse strings as HTML, and links are built element by element.

/**
 * Creates an element. `props`: `class`, `text`, `dataset`, `on<event>` listeners, other
 * attributes (booleans set or omit them). Children: nodes, strings (as text), arrays, or nothing.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

/** Appends children (nodes, strings as text, arrays), skipping empty ones. */
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Removes every child of `node` and appends `children`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

const urlPattern = /\bhttps?:\/\/[^\s<>"']+/gi;

/**
 * Message text as nodes: plain text, with http(s) links turned into anchors that show their
 * real domain first and open in a new tab without referrer or opener.
 */
export function richText(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(urlPattern)) {
    const raw = match[0].replace(/[.,;:!?)\]]+$/, '');
    let url;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    fragment.append(document.createTextNode(text.slice(last, match.index)));
    const rest = (url.pathname + url.search + url.hash).replace(/^\/$/, '');
    const link = el('a', { href: url.href, target: '_blank', rel: 'noopener noreferrer nofollow', title: url.href, class: 'link' },
      el('span', { class: 'link-domain', text: url.host }),
      rest ? el('span', { class: 'link-path', text: rest.length > 40 ? rest.slice(0, 39) + '…' : rest }) : null);
    fragment.append(link);
    last = match.index + raw.length;
  }
  fragment.append(document.createTextNode(text.slice(last)));
  return fragment;
}

/** Initials for an avatar: "Anna Kovács" → "AK". */
export function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((word) => Array.from(word)[0].toUpperCase()).join('') || '?';
}

/** "12:04" in the viewer's locale. */
export function clock(ms, locale) {
  return new Date(ms).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
}

/** "2m 13s", "1h 4m" since `ms`. */
export function elapsed(ms, now = Date.now()) {
  const seconds = Math.max(0, Math.floor((now - ms) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}
