import { gateKind } from './gate.js';
import { turnstileKind } from './turnstile.js';
import { cameraKind } from './camera.js';
import { barrierKind } from './barrier.js';
import type { KindDefinition } from './types.js';

/** Every device kind gatehouse knows. A new kind is one file beside these and a line here. */
export const kinds: Record<string, KindDefinition> = {
  [gateKind.name]: gateKind,
  [turnstileKind.name]: turnstileKind,
  [cameraKind.name]: cameraKind,
  [barrierKind.name]: barrierKind,
};

export function getKind(name: string): KindDefinition | undefined {
  return Object.hasOwn(kinds, name) ? kinds[name] : undefined;
}

/** kind -> command names, the catalog the topic layout builds command subscriptions from. */
export function commandCatalog(): Record<string, string[]> {
  return Object.fromEntries(Object.values(kinds).map((k) => [k.name, Object.keys(k.commands)]));
}

export type { KindDefinition } from './types.js';
