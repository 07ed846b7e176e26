// Small SVG icons built with the DOM (no markup strings, no icon fonts, no emoji that a system
// may lack). Each returns a fresh, decorative (aria-hidden) element.
const NS = 'http://www.w3.org/2000/svg';

const paths = {
  bell: 'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2z',
  bellOff: 'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zM19 16V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16a6.9 6.9 0 0 0-2.2.94L19 15.8zM3.3 2.3 2 3.6l3.5 3.5A6.9 6.9 0 0 0 5 11v5l-2 2v1h14.9l2.5 2.5 1.3-1.3z',
  minus: 'M5 11h14v2H5z',
  power: 'M13 3h-2v10h2zm4.83 2.17-1.42 1.42A6.92 6.92 0 0 1 19 12a7 7 0 1 1-11.42-5.42L6.17 5.17A9 9 0 1 0 21 12a8.97 8.97 0 0 0-3.17-6.83z',
  lock: 'M17 9V7a5 5 0 0 0-10 0v2H5v13h14V9zm-8-2a3 3 0 0 1 6 0v2H9zm4 10.73V19h-2v-1.27a2 2 0 1 1 2 0z',
  send: 'M3 20.5 21 12 3 3.5l.01 6.6L15 12 3.01 13.9z',
  note: 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zm-1 7V3.5L18.5 9zM8 13h8v2H8zm0 4h5v2H8z',
  transfer: 'M16 3l4 4-4 4V8H4V6h12zM8 13v3h12v2H8v3l-4-4z',
  check: 'M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z',
  close: 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z',
};

/** An icon by name (`bell`, `bellOff`, `minus`, `power`, `lock`, `send`, `note`, `transfer`, `check`, `close`). */
export function icon(name, size = 18) {
  const image = document.createElementNS(NS, 'svg');
  image.setAttribute('viewBox', '0 0 24 24');
  image.setAttribute('width', String(size));
  image.setAttribute('height', String(size));
  image.setAttribute('aria-hidden', 'true');
  image.setAttribute('focusable', 'false');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', paths[name]);
  path.setAttribute('fill', 'currentColor');
  image.append(path);
  return image;
}
