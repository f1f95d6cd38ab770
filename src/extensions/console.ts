// The technician console (issue 14) as one more extension on the event bus: it hears device news,
// results, security events and reloads on the bus, and serves the page and its API on its own
// listener (src/console/server/). Nothing when console.enabled is false.
import type { Extension } from '../event-bus.js';
import type { ConsoleDeps } from '../console/server/context.js';
import { ConsoleServer } from '../console/server/server.js';

export class ConsoleExtension implements Extension {
  readonly name = 'console';
  private server: ConsoleServer | undefined;

  constructor(private readonly deps: ConsoleDeps) {}

  /** http(s)://host:port/ of the console; undefined when it is off or not started. */
  get url(): string | undefined {
    return this.server?.port !== undefined ? this.server.url() : undefined;
  }

  get running(): ConsoleServer | undefined {
    return this.server;
  }

  async start(): Promise<void> {
    if (!this.deps.config().console.enabled) return;
    const server = new ConsoleServer(this.deps);
    await server.start();
    this.server = server;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
  }
}
