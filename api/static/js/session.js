// Who is logged in: the token pair in sessionStorage (gone when the tab closes), refreshed
// a minute before the access token expires.

import { ApiError } from "./errors.js";

const KEY = "anxin:session";
const MARGIN_MS = 60_000;
const listeners = new Set();

let state = load();
let timer = null;
let refreshing = null;

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

function save(next) {
  state = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next));
  else sessionStorage.removeItem(KEY);
  schedule();
  for (const listener of listeners) listener(state);
}

function schedule() {
  clearTimeout(timer);
  if (!state) return;
  const due = Math.max(0, state.expiresAt - Date.now() - MARGIN_MS);
  timer = setTimeout(() => refresh().catch(() => {}), due);
}

async function tokenRequest(fields) {
  let response;
  try {
    response = await fetch("/api/v1/auth/token", {
      method: "POST",
      headers: { Accept: "application/json" },
      body: new URLSearchParams(fields),
    });
  } catch {
    throw new ApiError(0, null);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return {
    access: body.access_token,
    refresh: body.refresh_token,
    role: body.role,
    expiresAt: Date.now() + body.expires_in * 1000,
  };
}

/** Log in with the OAuth2 password flow. */
export async function logIn(username, password) {
  const tokens = await tokenRequest({ grant_type: "password", username, password });
  save({ ...tokens, username });
}

export function logOut() {
  if (state) save(null);
}

/** The session (`username`, `role`, tokens), or null when logged out. */
export function current() {
  return state;
}

/** Exchange the refresh token for a new pair; a refused one ends the session. */
export function refresh() {
  if (!state) return Promise.resolve();
  refreshing ??= tokenRequest({ grant_type: "refresh_token", refresh_token: state.refresh })
    .then((tokens) => save({ ...state, ...tokens }))
    .catch((error) => {
      if (error.status === 401) save(null);
      throw error;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** A valid access token (refreshed first when about to expire), or null when logged out. */
export async function accessToken() {
  if (state && state.expiresAt - Date.now() < MARGIN_MS) await refresh();
  return state?.access ?? null;
}

/** Call `listener(session)` whenever the session changes; returns the unsubscribe. */
export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

schedule();
