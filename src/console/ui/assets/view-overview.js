// The site at a glance: the gateway and every device, kept current by the live feed.
import { api } from './api.js';
import { deviceCard } from './device-card.js';
import { fill, h } from './dom.js';
import { gatewayPanel } from './gateway-panel.js';
import { onLive } from './live.js';

export async function overviewView(main, { session }) {
  fill(main, h('h1', {}, 'Site overview'), h('p', {}, 'Loading…'));
  let overview;
  try {
    overview = await api.get('/api/overview');
  } catch (err) {
    fill(main, h('h1', {}, 'Site overview'), h('p', { class: 'error', role: 'alert' }, err.message));
    return undefined;
  }
  const gateway = gatewayPanel(overview.gateway);
  const cards = new Map();
  const list = h('ul', { class: 'devices', 'aria-label': 'Devices' });
  for (const device of overview.devices) {
    const card = deviceCard(device);
    cards.set(device.id, card);
    list.append(card.el);
  }
  fill(
    main,
    h('h1', {}, 'Site overview'),
    h('section', { class: 'device-list', 'aria-labelledby': 'devices-title' }, h('h2', { id: 'devices-title' }, `Devices (${overview.devices.length})`), list),
    gateway.el,
  );
  const offDevice = onLive('device', (d) => cards.get(d.id)?.update(d));
  // The gateway state does not count the broker's clients; an admin may ask the broker view.
  const countClients = () => {
    if (session.admin) api.get('/api/broker').then((b) => gateway.setExtra('brokerClients', b.clients.length), () => {});
  };
  countClients();
  const offGateway = onLive('gateway', (g) => {
    gateway.update(g);
    countClients();
  });
  const ticker = setInterval(gateway.tick, 1000);
  return () => {
    offDevice();
    offGateway();
    clearInterval(ticker);
  };
}
