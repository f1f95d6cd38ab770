// Makes aedes skip packet identifiers that are still in use when it numbers an outgoing QoS 1/2
// PUBLISH (MQTT-2.3.1-2, MQTT-2.3.1-4). aedes 1.2.0 keeps a per-client counter, client._nextId,
// read and then advanced by lib/qos-packet.js; every advance now lands on a free identifier.
import { PACKET_ID_SPACE } from './outbound-ids.js';

export function installPacketIdAllocator(client: object, inUse: (id: number) => boolean): boolean {
  const current = (client as { _nextId?: unknown })._nextId;
  if (typeof current !== 'number') return false;
  let next = current;
  Object.defineProperty(client, '_nextId', {
    configurable: true,
    enumerable: true,
    get: () => next,
    set: (value: number) => {
      let id = value;
      for (let tries = 0; tries < PACKET_ID_SPACE && (id < 1 || id > PACKET_ID_SPACE || inUse(id)); tries++) {
        id = id >= PACKET_ID_SPACE || id < 1 ? 1 : id + 1;
      }
      next = id;
    },
  });
  return true;
}
