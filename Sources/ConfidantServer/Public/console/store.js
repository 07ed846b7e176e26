// Console state shared by the pages, kept in memory only.
import { api } from '/console/api.js';

/** Who is signed in, the live socket, and the directory (sites, departments, staff by id). */
export const store = {
  me: null,
  /** The session as `/v1/auth/me` answered, and what it may do. */
  session: null,
  permissions: new Set(),
  socket: null,
  page: 'inbox',
  sites: new Map(),
  departments: new Map(),
  agents: new Map(),
  listeners: new Set(),
};

/** Whether the signed-in member holds a permission (the server enforces it regardless). */
export function can(permission) {
  return store.permissions.has(permission);
}

/** Whether the signed-in member manages the organization (owners and admins). */
export function isManager() {
  return can('manageStaff');
}

/** Tells the current page that directory or presence data changed. */
export function notify(reason) {
  for (const listener of store.listeners) listener(reason);
}

/** Sites, departments and staff: names for ids everywhere in the console. */
export async function loadDirectory() {
  const [sites, departments, agents] = await Promise.all([api('GET', '/v1/sites'), api('GET', '/v1/departments'), api('GET', '/v1/agents')]);
  store.sites = new Map(sites.items.map((site) => [site.id, site]));
  store.departments = new Map(departments.items.map((department) => [department.id, department]));
  store.agents = new Map(agents.items.map((agent) => [agent.id, agent]));
  notify('directory');
}

/** A readable name for a site, department or staff id. */
export function nameOf(kind, id) {
  if (!id) return kind === 'department' ? 'General' : '—';
  const map = kind === 'site' ? store.sites : kind === 'department' ? store.departments : store.agents;
  const entry = map.get(id);
  return entry ? entry.name ?? entry.displayName : id.slice(0, 8);
}
