import { DeviceError } from '../../driver-api.js';
import type { ActionPort } from '../kinds/types.js';
import type { PieceContext } from './piece.js';

/** The device's driver actions; a DeviceError (not applied) where the device has none. */
export function actionsOf(ctx: PieceContext): ActionPort {
  if (ctx.actions === undefined) throw new DeviceError('device_error', `${ctx.kind} ${ctx.deviceId} has no driver actions`, { notApplied: true });
  return ctx.actions;
}
