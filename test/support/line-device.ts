// Runs test/peers/line_device.ts as a child process on one end of a pty pair, records the lines it
// receives, and passes it instructions (see the script's header).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { until as waitUntil, WAIT_MS } from './wait.js';

const SCRIPT = fileURLToPath(new URL('../peers/line_device.ts', import.meta.url));

export interface LineDevice {
  /** Lines the device received, in order. */
  readonly received: string[];
  tell(instruction: string): Promise<void>;
  /** Resolves with the index of the first received line at or after `from` that equals `line`. */
  waitForLine(line: string, from?: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startLineDevice(path: string): Promise<LineDevice> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SCRIPT, path], { stdio: ['pipe', 'pipe', 'pipe'] });
  const received: string[] = [];
  const done: string[] = [];
  let stderr = '';
  let ready = false;
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const msg = JSON.parse(text) as { rx?: string; done?: string; ready?: boolean };
    if (msg.rx !== undefined) received.push(msg.rx);
    if (msg.done !== undefined) done.push(msg.done);
    if (msg.ready) ready = true;
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  /** Waits for `probe`, failing at once (with the device's stderr) if the device exits. */
  const until = (what: string, probe: () => boolean, timeoutMs = WAIT_MS): Promise<true> =>
    waitUntil(() => `${what}; stderr:\n${stderr}`, () => {
      if (child.exitCode !== null) throw new Error(`line device exited (${child.exitCode}) while waiting for ${what}; stderr:\n${stderr}`);
      return probe();
    }, timeoutMs);
  try {
    await until('the line device to open its port', () => ready);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }

  return {
    received,
    async tell(instruction) {
      const count = done.filter((d) => d === instruction).length;
      child.stdin!.write(instruction + '\n');
      await until(`the line device to take "${instruction}"`, () => done.filter((d) => d === instruction).length > count);
    },
    async waitForLine(line, from = 0, timeoutMs = WAIT_MS) {
      let index = -1;
      await until(`the line device to receive ${JSON.stringify(line)}`, () => (index = received.indexOf(line, from)) !== -1, timeoutMs);
      return index;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await closed;
    },
  };
}
