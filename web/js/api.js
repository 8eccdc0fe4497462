// The lake's API with the user's token. The token is asked once and kept in
// sessionStorage: for this tab only, gone when it closes. Errors carry the
// RFC 9457 problem (title, detail, field) so forms can show each by its field.

const KEY = 'shopperlake.token';

export class ApiError extends Error {
  constructor(status, problem, text) {
    super(problem?.detail ?? `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`);
    this.status = status;
    this.problem = problem;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  set token(t) {
    if (t) sessionStorage.setItem(KEY, t);
    else sessionStorage.removeItem(KEY);
  },
  me: null, // {name, role, token_id} from GET /v1/me
  can(role) {
    const rank = { reader: 1, operator: 2, admin: 3 };
    return (rank[this.me?.role] ?? 0) >= rank[role];
  },
};

// One request. body: an object sent as JSON (or merge-patch with patch).
// Returns the parsed JSON (or text); throws ApiError for a status >= 400.
export async function api(method, path, { body, patch = false, accept = 'application/json', headers = {}, raw = false } = {}) {
  const h = { Accept: accept, ...headers };
  if (session.token) h.Authorization = `Bearer ${session.token}`;
  let payload;
  if (body !== undefined) {
    payload = JSON.stringify(body);
    h['Content-Type'] = patch ? 'application/merge-patch+json' : 'application/json';
  }
  const res = await fetch(path, { method, headers: h, body: payload, cache: 'no-store' });
  if (raw && res.ok) return res;
  const text = await res.text();
  const ctype = res.headers.get('content-type') ?? '';
  let data = text;
  if (/json/.test(ctype) && text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (res.status >= 400) {
    const err = new ApiError(res.status, typeof data === 'object' ? data : null, typeof data === 'string' ? data : '');
    if (res.status === 401) window.dispatchEvent(new CustomEvent('lake-unauthorized'));
    throw err;
  }
  return data;
}

// GET that answers null on 404 (for endpoints that may not exist yet).
export async function getOptional(path) {
  try {
    return await api('GET', path);
  } catch (e) {
    if (e.status === 404 || e.status === 405) return null;
    throw e;
  }
}

// Every item of a keyset-paged list ({items, next_cursor}), at most max.
export async function listAll(path, { max = 1000 } = {}) {
  const out = [];
  let cursor = '0';
  const sep = path.includes('?') ? '&' : '?';
  while (out.length < max) {
    const page = await api('GET', `${path}${sep}limit=${Math.min(500, max - out.length)}&cursor=${cursor}`);
    out.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}
