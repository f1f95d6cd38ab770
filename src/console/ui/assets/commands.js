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
  if (arg.type === 'boolean') return h('input', { ...common, type: 'checkbox' });
  if (arg.type === 'integer' || arg.type === 'number') {
    return h('input', { ...common, type: 'number', inputmode: arg.type === 'integer' ? 'numeric' : 'decimal', step: arg.type === 'integer' ? '1' : 'any', min: arg.min, max: arg.max });
  }
  return h('input', { ...common, type: 'text', autocomplete: 'off' });
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
      const range = arg.min !== undefined || arg.max !== undefined ? ` (${arg.min ?? '…'} to ${arg.max ?? '…'})` : '';
      return h('div', { class: 'field' }, h('label', { for: id }, `${label(arg.name)}${arg.required ? '' : ' (optional)'}${range}`), argInput(id, arg), arg.description ? h('small', {}, arg.description) : null);
    });
    const button = h('button', { type: 'submit', class: 'command', dataset: { command: command.name } }, label(command.name));
    const form = h('form', { class: args.length ? 'command-form with-args' : 'command-form', 'aria-label': `${label(command.name)} ${device.id}` }, fields, button);
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
