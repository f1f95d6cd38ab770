// `gatehouse probe modbus ADDRESS` and `gatehouse probe onvif URL`: hardware that is not configured
// yet, over the gateway's own transport code. Each protocol's code loads only when it is asked for.
// (No import of ./index.js: the run function's type is written out, keeping this file out of the
// table's import cycle.)

type Values = Record<string, string | boolean | string[] | undefined>;

export const PROBE_USAGE = 'gatehouse probe modbus tcp://HOST:PORT | rtu:/dev/ttyUSB0?baud=9600 [options]\n       gatehouse probe onvif http://HOST[:PORT]/onvif/device_service [options]';

export const probe = {
  async run(values: Values, operands: string[]): Promise<number> {
    const [protocol, address, ...extra] = operands;
    const problem =
      protocol === undefined
        ? 'say what to probe: modbus or onvif'
        : protocol !== 'modbus' && protocol !== 'onvif'
          ? `unknown protocol ${JSON.stringify(protocol)}: modbus or onvif`
          : address === undefined
            ? `probe ${protocol} needs an address`
            : extra.length > 0
              ? `unexpected argument ${JSON.stringify(extra[0])}: one address per probe`
              : undefined;
    if (problem !== undefined) {
      process.stderr.write(`gatehouse probe: ${problem}\nusage: ${PROBE_USAGE}\n(gatehouse probe --help lists the options)\n`);
      return 2;
    }
    if (protocol === 'modbus') return (await import('./probe-modbus.js')).probeModbus(address as string, values);
    return (await import('./probe-onvif.js')).probeOnvif(address as string, values);
  },
};
