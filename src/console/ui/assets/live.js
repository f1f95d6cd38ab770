// The live feed: one EventSource on /api/live (server-sent events), shared by every view.
// EventSource reconnects by itself; the header shows whether the feed is up.

const listeners = { device: new Set(), gateway: new Set(), result: new Set() };
let source = null;
let statusEl = null;

function setStatus(text, up) {
  if (!statusEl) return;
  statusEl.textContent = text;
  statusEl.classList.toggle('up', up);
}

/**
 * Opens the feed (after a login); `el` shows its state. `onDrop` is called when the server ended
 * the feed for good (EventSource gives up on a 401: the session expired or was logged out).
 */
export function openLive(el, onDrop = () => {}) {
  closeLive();
  statusEl = el;
  source = new EventSource('/api/live');
  setStatus('connecting', false);
  source.addEventListener('open', () => setStatus('live', true));
  source.addEventListener('error', () => {
    const closed = source !== null && source.readyState === EventSource.CLOSED;
    setStatus(closed ? 'offline' : 'reconnecting', false);
    if (closed) onDrop();
  });
  for (const type of Object.keys(listeners)) {
    source.addEventListener(type, (ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      for (const fn of listeners[type]) fn(data);
    });
  }
}

export function closeLive() {
  source?.close();
  source = null;
  setStatus('offline', false);
}

/** Calls fn(data) for every `type` event ('device', 'gateway', 'result'); returns the unsubscribe. */
export function onLive(type, fn) {
  listeners[type].add(fn);
  return () => listeners[type].delete(fn);
}
