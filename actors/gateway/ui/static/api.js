// The JSON API, called with the user's token. A 401 ends the session (the page goes
// back to the login form); any other refusal is thrown with the API's own message,
// so a role that may not do something sees exactly what the API said.

const TOKEN = "podium.token";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The session's token in sessionStorage: one tab's, gone when the tab closes. */
export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN);
  },
  save(token) {
    sessionStorage.setItem(TOKEN, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN);
  },
  /** {name, role} from the token's claims (only for display: the API checks them). */
  user() {
    const token = this.token;
    if (!token) return null;
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const claims = JSON.parse(atob(part));
      return { name: claims.sub, role: claims.role };
    } catch {
      return null;
    }
  },
};

let unauthorized = () => {};

/** What to do when the API answers 401: set once, by the page. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/** Headers with the bearer token (when there is one) and `extra`. */
export function authHeaders(extra = {}) {
  const token = session.token;
  return token ? { ...extra, Authorization: `Bearer ${token}` } : { ...extra };
}

async function message(response) {
  try {
    const body = await response.json();
    return body.error || JSON.stringify(body);
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

/** A response that is not 2xx as an ApiError (after a 401, the session ends). */
export async function refused(response) {
  const text = await message(response);
  if (response.status === 401) unauthorized(text);
  return new ApiError(response.status, text);
}

export async function request(method, path, body) {
  const init = { method, headers: authHeaders() };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, `cannot reach this master: ${error.message}`);
  }
  if (!response.ok) throw await refused(response);
  return response.json();
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);
export const put = (path, body) => request("PUT", path, body);
export const del = (path) => request("DELETE", path);

/** A query string from the fields of `params` that are set. */
export function query(params) {
  const kept = Object.entries(params).filter(([, v]) => v !== "" && v != null);
  return kept.length ? `?${new URLSearchParams(kept)}` : "";
}

/** A path segment: job types and schedule names may hold "/", "#" or "?". */
export const seg = encodeURIComponent;

/** Log in; the token is kept for this tab. Throws the API's error (404: auth is off). */
export async function login(username, password) {
  const response = await fetch("/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw new ApiError(response.status, await message(response));
  session.save((await response.json()).token);
}
