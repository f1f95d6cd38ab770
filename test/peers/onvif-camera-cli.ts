// The simulated ONVIF camera (src/simulator/onvif-camera/) as a process: prints one JSON line
// {"xaddr", "port"} once it listens on 127.0.0.1, then serves until SIGTERM or SIGINT.
// Usage: node --import tsx test/peers/onvif-camera-cli.ts [--user admin] [--password secret]
//        [--clock-offset-ms 0] [--snapshot-auth digest|basic|none] [--port 0]
import { parseArgs } from 'node:util';
import { TestOnvifCamera } from '../../src/simulator/onvif-camera/camera.js';

const { values } = parseArgs({
  options: {
    user: { type: 'string', default: 'admin' },
    password: { type: 'string', default: 'secret' },
    'clock-offset-ms': { type: 'string', default: '0' },
    'snapshot-auth': { type: 'string', default: 'digest' },
    port: { type: 'string', default: '0' },
  },
});

const auth = values['snapshot-auth'];
if (auth !== 'digest' && auth !== 'basic' && auth !== 'none') {
  process.stderr.write(`onvif-camera: --snapshot-auth must be digest, basic or none, got ${auth}\n`);
  process.exit(2);
}
const offset = Number(values['clock-offset-ms']);
const port = Number(values.port);
if (!Number.isInteger(offset) || !Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write('onvif-camera: --clock-offset-ms and --port take integers\n');
  process.exit(2);
}

const camera = new TestOnvifCamera({ user: values.user, password: values.password, clockOffsetMs: offset, snapshotAuth: auth });
await camera.start(port);
process.stdout.write(`${JSON.stringify({ xaddr: camera.xaddr, port: Number(new URL(camera.xaddr).port) })}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void camera.stop().then(() => process.exit(0));
  });
}
