// The command buttons of a device: only the commands the server lists for this user (its ACL),
// each a small form for its arguments; the result (code and message) goes to an aria-live region.
import { api } from './api.js';
import { fill, h, label, when } from './dom.js';

/** A result's code: `ok` for success (the MQTT result says only status `ok`), else its error code. */
export function codeOf(result) {
  return result?.code ?? (result?.status === 'ok' ? 'ok' : result?.status) ?? 'error';
}

/** One line for a result: "Unlock: ok (message) at 14:02:10". */
export function resultText(result) {
  if (!result) return '—';
  const message = result.message ? ` — ${result.message}` : '';
  const at = result.at ? ` at ${when(result.at)}` : '';
  return `${label(result.command ?? 'command')}: ${codeOf(result)}${message}${at}`;
}

export function resultClass(result) {
  return codeOf(result) === 'ok' ? 'result ok' : 'result fail';
}

/** Shows `result` (or an error) in `out`. */
export function showResult(out, result) {
  out.className = resultClass(result);
  out.dataset.code = codeOf(result);
  fill(out, h('strong', {}, codeOf(result) === 'ok' ? 'OK ' : 'Failed '), resultText(result));
}

/** Sends `command` with `args` to `device`, showing the outcome in `out`; resolves with the result. */
export async function send(device, command, args, out) {
  out.className = 'result pending';
  fill(out, `${label(command)}: sending…`);
  try {
    const result = await api.command(device.id, command, args);
    showResult(out, { ...result, at: Date.now() });
    return result;
  } catch (err) {
    showResult(out, { command, code: err.code ?? 'error', message: err.message, at: Date.now() });
    return null;
  }
}

function argInput(id, arg) {
  const common = { id, name: arg.name, required: arg.required || false };
  if (Array.isArray(arg.values)) {
    const none = arg.required ? [] : [h('option', { value: '' }, arg.default !== undefined ? `default (${arg.default})` : '—')];
    return h('select', common, none, arg.values.map((v) => h('option', { value: v }, v)));
  }
  if (arg.type === 'boolean') return h('input', { ...common, type: 'checkbox' });
  const placeholder = arg.default !== undefined ? `default ${arg.default}` : undefined;
  if (arg.type === 'integer' || arg.type === 'number') {
    return h('input', { ...common, type: 'number', placeholder, inputmode: arg.type === 'integer' ? 'numeric' : 'decimal', step: arg.type === 'integer' ? '1' : 'any', min: arg.min, max: arg.max });
  }
  return h('input', { ...common, type: 'text', autocomplete: 'off', placeholder, maxlength: arg.max });
}

function readArgs(form, args) {
  const values = {};
  for (const arg of args) {
    const input = form.elements.namedItem(arg.name);
    if (arg.type === 'boolean') {
      if (input.checked) values[arg.name] = true;
    } else if (input.value !== '') {
      values[arg.name] = arg.type === 'integer' || arg.type === 'number' ? Number(input.value) : input.value;
    }
  }
  return values;
}

/**
 * A command the overview offers as one button: no argument needed beyond an optional duration
 * (unlock, lock, open, snapshot); a camera move needs its direction, so it stays on the device page.
 */
function isQuick(command) {
  return command.args.every((a) => !a.required && a.name === 'duration_ms');
}

/**
 * A form per command (with its arguments, unless `quick`: then only the commands without a
 * required argument, as plain buttons). Returns null when the user may send nothing.
 */
export function commandForms(device, out, { quick = false } = {}) {
  const commands = (device.commands ?? []).filter((c) => !quick || isQuick(c));
  if (commands.length === 0) return null;
  const forms = commands.map((command) => {
    const args = quick ? [] : command.args;
    const fields = args.map((arg) => {
      const id = `arg-${device.id}-${command.name}-${arg.name}`;
      const numeric = arg.type === 'integer' || arg.type === 'number';
      const range = numeric && (arg.min !== undefined || arg.max !== undefined) ? ` (${arg.min ?? '…'} to ${arg.max ?? '…'})` : '';
      return h('div', { class: 'field' }, h('label', { for: id }, `${label(arg.name)}${arg.required ? '' : ' (optional)'}${range}`), argInput(id, arg), arg.description ? h('small', {}, arg.description) : null);
    });
    const hintId = `hint-${device.id}-${command.name}`;
    const hint = !quick && command.description ? h('small', { class: 'hint', id: hintId }, command.description) : null;
    const button = h('button', { type: 'submit', class: 'command', dataset: { command: command.name }, 'aria-describedby': hint ? hintId : null }, label(command.name));
    const form = h('form', { class: args.length ? 'command-form with-args' : 'command-form', 'aria-label': `${label(command.name)} ${device.id}` }, fields, button, hint);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      await send(device, command.name, readArgs(form, args), out);
      button.disabled = false;
    });
    return form;
  });
  return h('div', { class: quick ? 'commands quick' : 'commands' }, forms);
}
