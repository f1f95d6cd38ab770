// Home Assistant MQTT device-based discovery payloads: one retained config per gatehouse device on
// {prefix}/device/{object_id}/config, with a `device` block (via_device: the gateway), `origin`,
// and `components` built from the device's kind (entities.ts). Every topic comes from src/topics.ts.
import type { KindDefinition } from '../devices/kinds/types.js';
import { GATEWAY_KIND, topics } from '../topics.js';
import { entitiesOf, type EntitySpec } from './entities.js';

export interface DiscoverySite {
  site: string;
  gatewayId: string;
  prefix: string;
  version: string;
}

export interface DiscoveredDevice {
  id: string;
  name: string;
  driver: string;
  kind: KindDefinition;
}

export interface DiscoveryMessage {
  topic: string;
  payload: Record<string, unknown>;
}

/** HA's object id and device identifier of a gatehouse device: ids are a-z 0-9 _ - already. */
export function objectId(site: string, kind: string, id: string): string {
  return `gatehouse_${site}_${kind}_${id}`;
}

export function configTopic(prefix: string, object: string): string {
  return `${prefix}/device/${object}/config`;
}

/** Where Home Assistant announces itself (its birth `online` and its will `offline`). */
export function statusTopic(prefix: string): string {
  return `${prefix}/status`;
}


function origin(site: DiscoverySite): Record<string, unknown> {
  return { name: 'gatehouse', sw_version: site.version };
}

/** 'ON' / 'OFF' from a field with two known values; `None` (unknown in HA) for anything else (null, "unknown"). */
function binaryTemplate(field: string, on: unknown, off: unknown): string {
  const value = `value_json.${field}`;
  return `{% if ${value} == ${JSON.stringify(on)} %}ON{% elif ${value} == ${JSON.stringify(off)} %}OFF{% else %}None{% endif %}`;
}

function component(site: DiscoverySite, device: DiscoveredDevice, entity: EntitySpec): Record<string, unknown> {
  const kind = device.kind.name;
  const common = { platform: entity.platform, name: entity.name, unique_id: `${objectId(site.site, kind, device.id)}_${entity.key}` };
  switch (entity.platform) {
    case 'sensor':
      return { ...common, state_topic: topics.state(site.site, kind, device.id), value_template: `{{ value_json.${entity.field} }}`, ...entity.extra };
    case 'binary_sensor':
      return {
        ...common,
        state_topic: topics.state(site.site, kind, device.id),
        value_template: binaryTemplate(entity.field, entity.on, entity.off),
        payload_on: 'ON',
        payload_off: 'OFF',
        ...(entity.device_class ? { device_class: entity.device_class } : {}),
      };
    case 'button':
      return { ...common, command_topic: topics.command(site.site, kind, device.id, entity.command), payload_press: JSON.stringify(entity.payload), qos: 1, retain: false };
    case 'event':
      return {
        ...common,
        state_topic: topics.event(site.site, kind, device.id),
        event_types: [...entity.eventTypes],
        // gatehouse names the type `event`; HA reads `event_type`.
        value_template: '{{ {"event_type": value_json.event} | tojson }}',
      };
    case 'camera':
      // Raw JPEG bytes: no image_encoding.
      return { ...common, topic: topics.image(site.site, device.id) };
  }
}

/** The discovery config of one device. */
export function deviceDiscovery(site: DiscoverySite, device: DiscoveredDevice): DiscoveryMessage {
  const kind = device.kind.name;
  const object = objectId(site.site, kind, device.id);
  const components = Object.fromEntries(entitiesOf(device.kind).map((entity) => [entity.key, component(site, device, entity)]));
  return {
    topic: configTopic(site.prefix, object),
    payload: {
      device: {
        identifiers: [object],
        name: device.name,
        manufacturer: 'gatehouse',
        model: `${kind} (${device.driver})`,
        via_device: objectId(site.site, GATEWAY_KIND, site.gatewayId),
      },
      origin: origin(site),
      components,
      // The device and the gateway: a device whose gateway is gone is unavailable, whatever its retained topic says.
      availability: [{ topic: topics.availability(site.site, kind, device.id) }, { topic: topics.gatewayAvailability(site.site, site.gatewayId) }],
      availability_mode: 'all',
      payload_available: 'online',
      payload_not_available: 'offline',
      qos: 1,
    },
  };
}

/** The gateway itself, the device every other one is `via_device` of: its connectivity and a few figures of its state. */
export function gatewayDiscovery(site: DiscoverySite): DiscoveryMessage {
  const object = objectId(site.site, GATEWAY_KIND, site.gatewayId);
  const state = topics.gatewayState(site.site, site.gatewayId);
  return {
    topic: configTopic(site.prefix, object),
    payload: {
      device: { identifiers: [object], name: `gatehouse ${site.site} ${site.gatewayId}`, manufacturer: 'gatehouse', model: 'gateway', sw_version: site.version },
      origin: origin(site),
      components: {
        connectivity: {
          platform: 'binary_sensor',
          name: 'Connectivity',
          unique_id: `${object}_connectivity`,
          device_class: 'connectivity',
          state_topic: topics.gatewayAvailability(site.site, site.gatewayId),
          payload_on: 'online',
          payload_off: 'offline',
        },
        devices_online: { platform: 'sensor', name: 'Devices online', unique_id: `${object}_devices_online`, state_topic: state, value_template: '{{ value_json.devices.online }}' },
        uptime: { platform: 'sensor', name: 'Uptime', unique_id: `${object}_uptime`, state_topic: state, value_template: '{{ value_json.uptime_s }}', unit_of_measurement: 's', device_class: 'duration', entity_category: 'diagnostic' },
      },
      qos: 1,
    },
  };
}

