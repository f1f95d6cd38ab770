// One device: live state, recent events, its commands (with their arguments), its journal, and
// for a camera the snapshot, a PTZ pad and presets; for an admin the commissioning tools.
import { api } from './api.js';
import { CAMERA_COMMANDS, cameraPanel } from './camera-panel.js';
import { commandForms } from './commands.js';
import { availabilityBadge, eventText } from './device-card.js';
import { deviceName, fill, h, label, show, when } from './dom.js';
import { journalTable } from './journal-table.js';
import { onLive } from './live.js';
import { commissioningPanel } from './commissioning-panel.js';

function stateList(state) {
  const entries = Object.entries(state ?? {}).filter(([k]) => k !== 'presets');
  if (entries.length === 0) return h('p', {}, 'No state yet.');
  return h('dl', { class: 'state' }, entries.map(([k, v]) => h('div', {}, h('dt', {}, label(k)), h('dd', {}, /(_at|_until)$/.test(k) && typeof v === 'number' ? when(v) : show(v)))));
}

export async function deviceView(main, { params, session }) {
  const title = h('h1', {}, params.id);
  fill(main, title, h('p', {}, 'Loading…'));
  let device;
  try {
    device = await api.get(`/api/devices/${encodeURIComponent(params.id)}`);
  } catch (err) {
    fill(main, title, h('p', { class: 'error', role: 'alert' }, err.status === 404 ? `No device ${params.id}.` : err.message), h('p', {}, h('a', { href: '#/' }, 'Back to the overview')));
    return undefined;
  }
  title.textContent = deviceName(device);
  const out = h('p', { class: 'result', id: 'command-result', role: 'status', 'aria-live': 'polite' });
  const headline = h('p', { class: 'state-line' });
  const stateBox = h('div', {});
  const events = h('ol', { class: 'events' });
  const isCamera = device.kind === 'camera';
  const generic = { ...device, commands: (device.commands ?? []).filter((c) => !isCamera || !CAMERA_COMMANDS.has(c.name)) };
  const forms = commandForms(generic, out);
  const camera = isCamera ? cameraPanel(device, out) : null;
  const canCommand = (device.commands ?? []).length > 0;

  const render = (d) => {
    fill(headline, availabilityBadge(d.availability), ' ', h('span', { class: 'summary' }, d.summary || '—'));
    if (d.state) fill(stateBox, stateList(d.state));
    camera?.update(d);
  };
  const renderEvents = (list) => fill(events, list.length ? list.map((e) => h('li', {}, eventText(e))) : h('li', {}, 'No events yet.'));
  render(device);
  let recent = device.events ?? [];
  renderEvents(recent);

  fill(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Overview'), ' › ', device.id),
    title,
    h('p', { class: 'kind' }, `${device.kind} · ${device.id}`),
    headline,
    h(
      'section',
      { 'aria-labelledby': 'cmd-title' },
      h('h2', { id: 'cmd-title' }, 'Commands'),
      out,
      canCommand ? null : h('p', {}, 'Your user may not send commands to this device.'),
      forms,
      camera?.el,
    ),
    session.admin ? commissioningPanel(device) : null,
    h('section', { 'aria-labelledby': 'state-title' }, h('h2', { id: 'state-title' }, 'State'), stateBox),
    h('section', { 'aria-labelledby': 'events-title' }, h('h2', { id: 'events-title' }, 'Recent events'), events),
    h(
      'section',
      { 'aria-labelledby': 'journal-title' },
      h('h2', { id: 'journal-title' }, 'Journal'),
      journalTable(device.journal ?? [], `Journal of ${device.id}`, { withDevice: false }),
      h('p', {}, h('a', { href: `#/journal?device=${encodeURIComponent(device.id)}` }, 'Search the whole journal of this device')),
    ),
  );

  return onLive('device', (d) => {
    if (d.id !== device.id) return;
    const latest = d.last_event;
    if (latest && !recent.some((e) => e.at === latest.at && e.type === latest.type)) {
      recent = [latest, ...recent].slice(0, 50);
      renderEvents(recent);
    }
    render(d);
  });
}
