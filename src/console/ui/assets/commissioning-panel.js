// Admin only: read what the device's driver sees now, and pulse one output (both journalled).
import { api } from './api.js';
import { fill, h } from './dom.js';

export function commissioningPanel(device) {
  const out = h('pre', { class: 'readout', role: 'status', 'aria-live': 'polite', tabindex: '0' });
  const base = `/api/devices/${encodeURIComponent(device.id)}/commissioning`;
  const show = (p) =>
    p.then(
      (data) => fill(out, JSON.stringify(data, null, 2)),
      (err) => fill(out, `${err.code ?? 'error'}: ${err.message}`),
    );
  const read = h('button', { type: 'button', onclick: () => show(api.post(`${base}/read`)) }, 'Read inputs and registers now');
  const output = h('input', { id: 'pulse-output', name: 'output', required: true, autocomplete: 'off' });
  const ms = h('input', { id: 'pulse-ms', name: 'ms', type: 'number', min: 1, step: 1, value: 500, required: true });
  const form = h(
    'form',
    { class: 'command-form with-args', 'aria-label': 'Pulse one output' },
    h('div', { class: 'field' }, h('label', { for: 'pulse-output' }, 'Output'), output),
    h('div', { class: 'field' }, h('label', { for: 'pulse-ms' }, 'For ms'), ms),
    h('button', { type: 'submit' }, 'Pulse'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    show(api.post(`${base}/pulse`, { output: output.value, ms: Number(ms.value) }));
  });
  return h('section', { 'aria-labelledby': 'comm-title' }, h('h2', { id: 'comm-title' }, 'Commissioning (admin)'), h('p', {}, 'Each action is journalled.'), read, form, out);
}
