// The `onvif` driver: cameras over an `onvif` transport. It switches no points; it performs actions
// (snapshot, ptz, stop, preset) on the configured media profile and reports what the camera is.
import type { DriverDefinition } from '../../src/driver-api.js';
import { CAMERA_ACTIONS, OnvifDriverInstance } from './driver.js';
import { parseOnvifOptions, type OnvifOptions } from './options.js';

export type { OnvifOptions } from './options.js';

export const onvifDriver: DriverDefinition<OnvifOptions> = {
  name: 'onvif',
  transports: ['onvif'],
  actions: CAMERA_ACTIONS,
  parseOptions: parseOnvifOptions,
  create: (ctx) => new OnvifDriverInstance(ctx),
};

export default onvifDriver;
