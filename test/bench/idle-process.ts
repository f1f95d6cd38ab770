// A node + tsx process that loaded this one TypeScript module and does nothing else: its resident
// memory is the part of the gateway's figure that any `node --import tsx` process pays.
process.stdout.write('ready\n');
const keepAlive = setInterval(() => undefined, 60_000);
process.once('SIGTERM', () => clearInterval(keepAlive));
