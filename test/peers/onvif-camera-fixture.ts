// Test plumbing around the simulated ONVIF camera (src/simulator/onvif-camera/): start one (and
// the gatehouse ONVIF transport to it) with cleanup registered, wait for its events and
// rejections with explicit timeouts, and catch unhandled rejections.
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import type { TestContext } from 'node:test';
import type { DriverLogger } from '../../src/driver-api.js';
import { OnvifCamera, type OnvifCameraConfig } from '../../src/transport/onvif/camera.js';
import { TestOnvifCamera, type TestCameraOptions } from '../../src/simulator/onvif-camera/camera.js';

export const WAIT_MS = 15_000;

export async function startCamera(t: TestContext, opts: TestCameraOptions = {}): Promise<TestOnvifCamera> {
  const camera = new TestOnvifCamera(opts);
  await camera.start();
  t.after(() => camera.stop());
  return camera;
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string | undefined;
  obj: object;
}

export function recordingLog(): DriverLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (obj: object, msg?: string) => void entries.push({ level, msg, obj });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The transport to `camera`, started, stopped after the test. Timeouts are generous: 2 shared cores. */
export async function startTransport(
  t: TestContext,
  camera: TestOnvifCamera,
  overrides: Partial<OnvifCameraConfig> = {},
): Promise<{ transport: OnvifCamera; log: ReturnType<typeof recordingLog> }> {
  const log = recordingLog();
  const transport = new OnvifCamera(
    'cam',
    {
      xaddr: camera.xaddr,
      user: 'admin',
      password: 'secret',
      timeoutMs: 3000,
      initTimeoutMs: WAIT_MS,
      maxBodyBytes: 256 * 1024,
      maxImageBytes: 1024 * 1024,
      backoff: { initialMs: 50, maxMs: 400 },
      ...overrides,
    },
    log,
  );
  await transport.start();
  t.after(() => transport.stop());
  return { transport, log };
}

/** Resolves when `emitter` emits `event`; fails the test after `timeoutMs`. */
export function nextEvent(emitter: EventEmitter, event: string, timeoutMs = WAIT_MS): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, done);
      reject(new Error(`no '${event}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    emitter.once(event, done);
  });
}

/** The error `work` rejects with; fails if it resolves or takes longer than `timeoutMs`. */
export async function rejection(work: Promise<unknown>, timeoutMs = WAIT_MS): Promise<Error & Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([work, timeout]);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('still pending after')) throw err;
    return err as Error & Record<string, unknown>;
  } finally {
    clearTimeout(timer);
  }
  assert.fail('expected a rejection, got a result');
}

/** Records unhandled rejections during a test and fails it if there were any. */
export function noUnhandledRejections(t: TestContext): void {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown): void => void seen.push(reason);
  process.on('unhandledRejection', onRejection);
  t.after(() => {
    process.off('unhandledRejection', onRejection);
    assert.deepEqual(seen.map(String), [], 'unhandled rejections');
  });
}
