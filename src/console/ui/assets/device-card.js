// A device in the overview: availability, state in words, last event and last result, and
// buttons for the commands that need no argument. update() changes only the texts, so a live
// update never takes the keyboard focus away from a button.
import { commandForms, resultText } from './commands.js';
import { deviceName, fill, h, label, when } from './dom.js';

export function eventText(event) {
  if (!event) return '—';
  const details = event.details && typeof event.details === 'object' ? Object.entries(event.details).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ') : '';
  return `${label(event.type)}${details ? ` (${details})` : ''} at ${when(event.at)}`;
}

export function availabilityBadge(availability) {
  return h('span', { class: `badge ${availability === 'online' ? 'online' : 'offline'}` }, availability ?? 'unknown');
}

export function deviceCard(device) {
  const titleId = `dev-${device.id}`;
  const avail = h('span', { class: 'avail' });
  const summary = h('p', { class: 'summary' });
  const lastEvent = h('dd', { class: 'last-event' });
  const lastResult = h('dd', { class: 'last-result' });
  const out = h('p', { class: 'result', role: 'status', 'aria-live': 'polite' });
  const el = h(
    'li',
    { class: 'device', dataset: { device: device.id } },
    h(
      'article',
      { 'aria-labelledby': titleId },
      h('h3', { id: titleId }, h('a', { href: `#/devices/${encodeURIComponent(device.id)}` }, deviceName(device)), ' ', h('span', { class: 'kind' }, `${device.kind} · ${device.id}`)),
      h('p', { class: 'state-line' }, avail, ' ', summary),
      h('dl', { class: 'facts' }, h('dt', {}, 'Last event'), lastEvent, h('dt', {}, 'Last result'), lastResult),
      commandForms(device, out, { quick: true }),
      out,
    ),
  );
  const update = (d) => {
    el.classList.toggle('is-offline', d.availability !== 'online');
    fill(avail, availabilityBadge(d.availability));
    summary.textContent = d.summary || '—';
    lastEvent.textContent = eventText(d.last_event);
    lastResult.textContent = resultText(d.last_result);
  };
  update(device);
  return { el, update };
}
