// Links (src/links/): commands run on other devices when a device emits an event. A reload that
// changes the links replaces the runner; runs of the old one finish on their own.
import type { GatehouseConfig } from '../config.js';
import type { EventBus, Extension } from '../event-bus.js';
import type { GatewayEvents } from '../gateway/events.js';
import { LinkRunner } from '../links/link-runner.js';
import type { CommandInput } from '../commands/pipeline.js';
import type { CommandResult } from '../commands/result.js';
import type { Logger } from '../log.js';

export class LinksExtension implements Extension {
  readonly name = 'links';
  private runner: LinkRunner;
  private unsubscribe: (() => void)[] = [];

  constructor(
    private readonly bus: EventBus<GatewayEvents>,
    links: Readonly<GatehouseConfig>['links'],
    private readonly submit: (input: CommandInput) => Promise<CommandResult>,
    private readonly log: Logger,
  ) {
    this.runner = this.build(links);
  }

  /** Links start once every device has had its safe state: events of the start-up are published, not linked. */
  start(): void {
    this.runner.start();
    this.unsubscribe.push(
      this.bus.on('device.event', this.name, ({ device, type, details, at }) => this.runner.onEvent({ device: device.id, kind: device.kind.name, type, details, at })),
      this.bus.on('config.reloaded', this.name, ({ config, plan }) => {
        if (!plan.links) return;
        const retired = this.runner;
        this.runner = this.build(config.links);
        this.runner.start();
        void retired.stop();
      }),
    );
  }

  /** No new runs; the steps under way end first (later steps are skipped). */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    await this.runner.stop();
  }

  private build(links: Readonly<GatehouseConfig>['links']): LinkRunner {
    return new LinkRunner({ links, submit: (input) => this.submit(input), log: this.log });
  }
}
