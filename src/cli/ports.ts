import { readdirSync } from 'node:fs';
import { SerialPort } from 'serialport';
import type { CliCommand } from './index.js';

/** Serial device names worth offering when the system cannot enumerate ports itself. */
const SERIAL_DEVICE_NAME = /^tty(S|USB|ACM)\d+$/;

/** Serial-looking entries of /dev, for machines without udev (containers, minimal images). */
function serialDevicesInDev(): string[] {
  try {
    return readdirSync('/dev')
      .filter((name) => SERIAL_DEVICE_NAME.test(name))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .map((name) => `/dev/${name}`);
  } catch {
    return [];
  }
}

export const ports: CliCommand = {
  async run() {
    let listed: Awaited<ReturnType<typeof SerialPort.list>>;
    try {
      listed = await SerialPort.list();
    } catch (err) {
      const found = serialDevicesInDev();
      const lines = [
        `this system cannot enumerate serial ports (${(err as Error).message.split('\n')[0]}); is udev (udevadm) installed?`,
        found.length > 0 ? 'serial devices found in /dev:' : 'no /dev/ttyS*, /dev/ttyUSB* or /dev/ttyACM* devices found either',
        ...found.map((path) => `  ${path}`),
      ];
      process.stdout.write(lines.join('\n') + '\n');
      return 0;
    }
    if (listed.length === 0) {
      process.stdout.write('no serial ports found\n');
      return 0;
    }
    const lines = listed.map((p) => {
      const details = [p.manufacturer, p.vendorId && p.productId ? `${p.vendorId}:${p.productId}` : undefined, p.serialNumber ? `serial ${p.serialNumber}` : undefined]
        .filter((d): d is string => typeof d === 'string' && d.length > 0)
        .join(', ');
      return details ? `${p.path}  (${details})` : p.path;
    });
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
