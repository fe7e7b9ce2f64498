// Calling the HTTP API as the logged-in account; failures carry the API's `detail`.

import { ApiError } from "./errors.js";
import { accessToken, logOut } from "./session.js";

/** `GET`/`POST` a path of the API; `json` is sent as the body. Answers the parsed JSON. */
export async function api(path, { method = "GET", json } = {}) {
  const token = await accessToken();
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch {
    throw new ApiError(0, null);
  }
  const data = await response.json().catch(() => null);
  if (response.status === 401 && token) logOut();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** A list answer: a JSON array, or an object whose `items` is one. */
export function list(data) {
  if (Array.isArray(data)) return data;
  return Array.isArray(data?.items) ? data.items : [];
}

/** A URL path with its interpolated parts escaped: path`/api/v1/alerts/${id}`. */
export function path(strings, ...values) {
  return strings.reduce(
    (whole, part, index) =>
      whole + part + (index < values.length ? encodeURIComponent(values[index]) : ""),
    "",
  );
}
