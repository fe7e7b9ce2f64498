// The live alert stream (Server-Sent Events). EventSource reconnects by itself and resends
// Last-Event-ID; when the server refuses it (the access token in the URL expired), a new
// connection is opened with a fresh token, resuming after the last event seen.

import { accessToken } from "./session.js";

const RETRY_MS = 3000;

/**
 * Follow alert changes until the returned function is called.
 * `onAlert(change)` for each change; `onOpen()` each time the stream (re)connects, so the
 * caller can reload what it may have missed; `onState("live" | "reconnecting")`.
 */
export function followAlerts({ onAlert, onOpen, onState }) {
  let source = null;
  let lastEventId = null;
  let retry = null;
  let stopped = false;

  async function connect() {
    const token = await accessToken().catch(() => null);
    if (stopped || !token) return;
    const query = new URLSearchParams({ access_token: token });
    if (lastEventId !== null) query.set("last_event_id", lastEventId);
    source = new EventSource(`/api/v1/alerts/stream?${query}`);
    source.addEventListener("open", () => {
      onState("live");
      onOpen();
    });
    source.addEventListener("alert", (event) => {
      lastEventId = event.lastEventId || lastEventId;
      try {
        onAlert(JSON.parse(event.data));
      } catch (error) {
        console.warn("unreadable alert event", error);
      }
    });
    // The server lost track of what we missed: reload everything.
    source.addEventListener("reset", () => onOpen());
    source.addEventListener("error", () => {
      onState("reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        retry = setTimeout(connect, RETRY_MS);
      }
    });
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    source?.close();
  };
}
