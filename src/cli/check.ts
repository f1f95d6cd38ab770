import type { CliCommand } from './index.js';
import { loadOrReport } from './load.js';
import { loadSampleCredentials } from './sample-credentials.js';
import { formatPosture, securityPosture } from './security-posture.js';

export const check: CliCommand = {
  async run(values) {
    if (typeof values.config !== 'string') {
      process.stderr.write('gatehouse check: --config FILE is required\n');
      return 2;
    }
    const config = loadOrReport({ file: values.config }, values.config);
    if (!config) return 1;
    const out: string[] = [`${values.config}: ok`, `site ${config.site}, gateway ${config.gateway_id}, broker ${config.broker.host}:${config.broker.port}, ${config.users.length} user(s)`];
    out.push(`${config.devices.length} device(s):`);
    for (const d of config.devices) {
      const transport = config.transports[d.transport];
      out.push(`  ${d.kind.padEnd(10)} ${d.id.padEnd(24)} ${d.driver} over ${d.transport} (${transport.type} ${transport.type === 'modbus-tcp' ? `${transport.host}:${transport.port}` : transport.type === 'onvif' ? transport.xaddr : transport.path})  poll ${d.poll_ms} ms  "${d.name}"`);
    }
    process.stdout.write(out.join('\n') + '\n\n' + formatPosture(await securityPosture(config, loadSampleCredentials())));
    return 0;
  },
};
