// Log in with a gatehouse user (the broker's users, the broker's lockout).
import { api } from './api.js';
import { fill, h } from './dom.js';

const REASONS = {
  locked_out: 'Locked out after too many failed logins; try again later.',
  rate_limited: 'Too many requests: wait a moment and try again.',
};

function reason(err) {
  const known = REASONS[err.code];
  if (known) return err.message && err.message !== err.code ? `${known} (${err.message})` : known;
  return err.status === 401 ? `Login refused: ${err.message}` : err.message;
}

export function loginView(main, { onLogin }) {
  const user = h('input', { id: 'login-user', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { id: 'login-pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', id: 'login-error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Log in');
  const form = h(
    'form',
    { class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'gatehouse console'),
    h('p', {}, 'Log in with your gatehouse user (the same as for MQTT).'),
    h('label', { for: 'login-user' }, 'User'),
    user,
    h('label', { for: 'login-pass' }, 'Password'),
    pass,
    button,
    error,
  );
  let attempts = 0;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    attempts += 1;
    button.disabled = true;
    error.textContent = '';
    try {
      const session = await api.login(user.value, pass.value);
      onLogin(session);
    } catch (err) {
      error.textContent = reason(err);
      error.dataset.code = err.code ?? '';
      error.dataset.attempt = String(attempts);
      pass.value = '';
      pass.focus();
    } finally {
      button.disabled = false;
    }
  });
  fill(main, form);
  user.focus();
}
