// A camera: no points, actions through its driver. `snapshot` hands the image to the sink (the
// gateway publishes it); `ptz` starts a continuous move that a timer stops after duration_ms, the
// way a gate's pulse ends; `stop` and `preset` end a move at once. State: what the camera is
// (model, firmware, profile, stream and snapshot URIs without credentials), whether it moves, the
// last preset and the last snapshot time; with `events.enabled`, the camera's own events (motion,
// tamper, alarm inputs) as state fields and events.
import { defineKind } from '../capabilities/compose.js';
import { cameraEvents } from '../capabilities/camera-events.js';
import { deviceFacts } from '../capabilities/device-facts.js';
import { ptzMotion } from '../capabilities/ptz-motion.js';
import { snapshots } from '../capabilities/snapshots.js';

export const cameraKind = defineKind({
  name: 'camera',
  description: 'an ONVIF camera: snapshots, pan/tilt/zoom moves, presets, its own motion, tamper and input events',
  pieces: {
    facts: deviceFacts({
      manufacturer: 'As the camera says (ONVIF GetDeviceInformation).',
      model: 'As the camera says.',
      firmware: 'As the camera says.',
      serial_number: 'As the camera says.',
      hardware_id: 'As the camera says.',
      profile: 'The media profile in use, {token, name}.',
      ptz: 'true when the profile can pan, tilt or zoom.',
      stream_uri: 'The RTSP stream, without credentials; "" when the camera gave none.',
      snapshot_uri: 'The snapshot URL, without credentials; "" when the camera gave none.',
    }),
    pictures: snapshots(),
    motion: ptzMotion(),
    events: cameraEvents(),
  },
  stateOrder: ['clock_offset_ms', 'moving', 'moving_until', 'preset', 'last_snapshot_at'],
  commands: {
    snapshot: {
      doc: 'Take a picture: its JPEG on the image topic, a snapshot event, a file under data_dir/snapshots.',
      args: {},
      run: ({ pictures }, _args, signal) => pictures.take(signal),
    },
    ptz: {
      doc: 'Move: pan, tilt, zoom velocities -1..1 (absent: still) for duration_ms (default ptz_ms), then stop.',
      // The ONVIF generic continuous velocity space is -1..1 on each axis.
      args: (settings) => ({
        pan: { type: 'number', min: -1, max: 1 },
        tilt: { type: 'number', min: -1, max: 1 },
        zoom: { type: 'number', min: -1, max: 1 },
        duration_ms: { type: 'int', min: 50, max: settings.max_ptz_ms as number },
      }),
      run: ({ motion }, args, signal) => motion.move(args, signal),
    },
    stop: {
      doc: 'Stop a move now.',
      args: {},
      run: ({ motion }, _args, signal) => motion.halt(signal),
    },
    preset: {
      doc: 'Go to a preset, by token or name.',
      args: { preset: { type: 'string', maxLength: 64 } },
      required: ['preset'],
      run: ({ motion }, args, signal) => motion.goto(args.preset as string, signal),
    },
  },
});
