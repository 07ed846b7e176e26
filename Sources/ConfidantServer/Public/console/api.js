// The REST API, with the session cookie the browser keeps (HttpOnly: scripts never see it) and
// the session's CSRF token, held in memory only and sent on every state-changing request.

let csrfToken = '';

/** Remembers the CSRF token of the session the server just answered with. */
export function useSession(session) {
  csrfToken = session?.csrfToken ?? '';
  return session;
}

/** An API error with its stable code. */
export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the API; resolves with the parsed body (null for 204), rejects with an APIError. */
export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(method === 'GET' || !csrfToken ? {} : { 'X-CSRF-Token': csrfToken }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new APIError(response.status, data?.error?.code ?? 'http_error', data?.error?.message ?? `HTTP ${response.status}`);
  }
  return data;
}

/** Builds a query string from the non-empty values of `params`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
