// A camera on its device page: the latest snapshot, the Snapshot button, a PTZ pad and presets,
// each only when the user may send that command.
import { codeOf, send } from './commands.js';
import { h, when } from './dom.js';

const PAD = [
  [null, { label: 'Tilt up', symbol: '▲', move: { tilt: 0.5 } }, null],
  [{ label: 'Pan left', symbol: '◀', move: { pan: -0.5 } }, { label: 'Stop', symbol: '■', stop: true }, { label: 'Pan right', symbol: '▶', move: { pan: 0.5 } }],
  [{ label: 'Zoom out', symbol: '−', move: { zoom: -0.5 } }, { label: 'Tilt down', symbol: '▼', move: { tilt: -0.5 } }, { label: 'Zoom in', symbol: '+', move: { zoom: 0.5 } }],
];
const MOVE_MS = 500;

function snapshotUrl(device, at) {
  return `/api/devices/${encodeURIComponent(device.id)}/snapshot?at=${encodeURIComponent(at ?? Date.now())}`;
}

export function cameraPanel(device, out) {
  const allowed = new Map((device.commands ?? []).map((c) => [c.name, c]));
  const img = h('img', { class: 'snapshot', alt: `Latest snapshot of ${device.id}`, width: 640, height: 360 });
  const caption = h('figcaption', {});
  const figure = h('figure', { class: 'snapshot-frame' }, img, caption);
  let shownAt = null;
  const showSnapshot = (at) => {
    if (at === undefined || at === null) {
      img.hidden = true;
      caption.textContent = 'No snapshot yet.';
      return;
    }
    if (at === shownAt) return;
    shownAt = at;
    img.hidden = false;
    img.src = snapshotUrl(device, at);
    caption.textContent = `Snapshot taken ${when(at)}`;
  };
  img.addEventListener('error', () => {
    img.hidden = true;
    caption.textContent = 'No snapshot yet.';
  });
  showSnapshot(device.snapshot?.at ?? device.state?.last_snapshot_at);

  const parts = [h('h3', { id: 'camera-title' }, 'Camera')];
  if (allowed.has('snapshot')) {
    const button = h('button', { type: 'button', class: 'command', dataset: { command: 'snapshot' } }, 'Snapshot');
    button.addEventListener('click', async () => {
      button.disabled = true;
      const result = await send(device, 'snapshot', undefined, out);
      button.disabled = false;
      if (result && codeOf(result) === 'ok') showSnapshot(result.data?.at ?? Date.now());
    });
    parts.push(h('p', {}, button));
  }
  parts.push(figure);
  const ptz = allowed.get('ptz');
  if (ptz) {
    const durationArg = ptz.args.find((a) => a.name === 'duration_ms');
    const ms = Math.min(MOVE_MS, durationArg?.max ?? MOVE_MS);
    const pad = h('div', { class: 'ptz-pad', role: 'group', 'aria-label': 'Pan, tilt and zoom' });
    for (const row of PAD) {
      for (const cell of row) {
        if (!cell || (cell.stop && !allowed.has('stop'))) {
          pad.append(h('span', { 'aria-hidden': 'true' }));
          continue;
        }
        const b = h('button', { type: 'button', 'aria-label': cell.label, title: cell.label }, cell.symbol);
        b.addEventListener('click', () => (cell.stop ? send(device, 'stop', undefined, out) : send(device, 'ptz', { ...cell.move, duration_ms: ms }, out)));
        pad.append(b);
      }
    }
    parts.push(h('h3', {}, 'Move'), pad);
  }
  if (allowed.has('preset')) {
    const presets = Array.isArray(device.state?.presets) ? device.state.presets : [];
    const input = h('input', { id: `preset-${device.id}`, name: 'preset', required: true, autocomplete: 'off', maxlength: 64 });
    const form = h('form', { class: 'command-form with-args', 'aria-label': 'Go to a preset' }, h('div', { class: 'field' }, h('label', { for: input.id }, 'Preset (token or name)'), input), h('button', { type: 'submit' }, 'Go to preset'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      send(device, 'preset', { preset: input.value }, out);
    });
    const quick = presets.map((p) => {
      const token = typeof p === 'object' ? p.token : String(p);
      const name = typeof p === 'object' ? p.name || p.token : String(p);
      return h('button', { type: 'button', onclick: () => send(device, 'preset', { preset: token }, out) }, name);
    });
    parts.push(h('h3', {}, 'Presets'), quick.length ? h('p', { class: 'presets' }, quick) : null, form);
  }
  const el = h('div', { class: 'camera', role: 'group', 'aria-labelledby': 'camera-title' }, parts);
  return {
    el,
    update(d) {
      const at = d.snapshot?.at ?? d.state?.last_snapshot_at;
      if (at !== undefined && at !== null) showSnapshot(at);
    },
  };
}

export const CAMERA_COMMANDS = new Set(['snapshot', 'ptz', 'stop', 'preset']);
