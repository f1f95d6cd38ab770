import { createServer } from 'node:net';

/**
 * A TCP port that was free on `host` a moment ago. modbus-serial's ServerTCP replaces port 0 with
 * 502 (`options.port || 502`) and does not expose the port it bound, so the simulator picks one
 * itself; the caller retries if another process takes it first.
 */
export function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = address !== null && typeof address === 'object' ? address.port : 0;
      probe.close((err) => {
        if (err) reject(err);
        else if (port === 0) reject(new Error(`no port reported for ${host}`));
        else resolve(port);
      });
    });
  });
}
