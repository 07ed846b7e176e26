// How conversations look in the console: shared by the inbox and the history transcript.
import { clock, el, richText } from '/shared/dom.js';
import { icon } from '/shared/icons.js';

/** The visitor's name, or a stable short label when they gave none. */
export function visitorName(summary) {
  return summary.verifiedVisitor?.name || summary.visitorName || `Visitor ${summary.visitorId.slice(0, 4).toUpperCase()}`;
}

/** The "verified" badge: the site's backend signed who this visitor is. */
export function verifiedBadge(summary) {
  const verified = summary.verifiedVisitor;
  if (!verified) return null;
  const details = [`user ${verified.userId}`, verified.email].filter(Boolean).join(' · ');
  return el('span', { class: 'pill verified', title: `Identity signed by the site: ${details}`, text: '✔ Verified' });
}

/** One message. Internal notes look unmistakably different: yellow, dashed, labelled. */
export function messageRow(entry, status) {
  const note = entry.visibility === 'internal';
  const kind = note ? 'note' : entry.author.kind === 'visitor' ? 'visitor' : 'agent';
  const who = entry.author.kind === 'visitor' ? 'Visitor' : entry.author.kind === 'system' ? 'Confidant' : entry.author.name || 'Agent';
  const masked = entry.redactions?.length ? `Masked on arrival: ${[...new Set(entry.redactions.map((mark) => mark.kind))].join(', ')}` : null;
  const meta = [who, entry.createdAt ? clock(entry.createdAt) : null, masked, status].filter(Boolean).join(' · ');
  return el('div', { class: `row ${kind}`, dataset: { seq: entry.seq ? String(entry.seq) : '' } },
    note ? el('span', { class: 'note-label' }, icon('lock', 12), 'Internal note') : null,
    el('div', { class: 'bubble' }, richText(entry.body)),
    el('div', { class: 'meta', text: meta }));
}

/** A line for a conversation event. */
export function systemText(entry) {
  switch (entry.type) {
    case 'conversation.assigned':
      return `${entry.agent?.name ?? 'An agent'} was assigned${entry.actor?.kind === 'agent' && entry.actor.id === entry.agent?.id ? ' (accepted)' : ''}`;
    case 'conversation.transferred':
      return entry.agent ? `${entry.actor?.name ?? 'Someone'} transferred to ${entry.agent.name}` : `${entry.actor?.name ?? 'Someone'} transferred to a department queue`;
    case 'conversation.closed':
      return `Closed by ${entry.actor?.kind === 'visitor' ? 'the visitor' : entry.actor?.name ?? 'staff'}`;
    case 'conversation.rated':
      return `Rated ${entry.score}/5${entry.comment ? `: “${entry.comment}”` : ''}`;
    default:
      return '';
  }
}
