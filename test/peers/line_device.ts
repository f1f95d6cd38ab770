// A line-protocol controller for tests, on one end of a socat pty pair:
//   STATUS?       -> STATUS door=OPEN|CLOSED in=<n> out=<n>
//   REL <n> ON [<ms>] | REL <n> OFF -> OK (or what the next stdin override says)
// Control on stdin, one instruction a line:
//   next err|garbage|partial|overlong   the next REL command gets that answer instead of OK
//   silent on|off                       answer nothing at all while on
//   door OPEN|CLOSED, in <n>, out <n>   set what STATUS reports
//   send <text>                         write <text> as an unsolicited line
// Every line received is reported on stdout as JSON {"rx": line}; {"ready": true} once open.
import { createInterface } from 'node:readline';
import { SerialPort } from 'serialport';

const TERMINATOR = '\r\n';
const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: line_device.ts <pty path>\n');
  process.exit(2);
}

const status = { door: 'CLOSED', in: 0, out: 0 };
let silent = false;
let next: string | null = null;
let pending = '';

const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
port.on('error', (err) => process.stderr.write(`line device: ${err.message}\n`));
port.on('close', () => process.exit(0));

function send(text: string, terminate = true): void {
  port.write(text + (terminate ? TERMINATOR : ''));
}

function answer(line: string): void {
  if (silent) return;
  if (line === 'STATUS?') return send(`STATUS door=${status.door} in=${status.in} out=${status.out}`);
  if (/^REL \d+ (ON( \d+)?|OFF)$/.test(line)) {
    const override = next;
    next = null;
    if (override === 'err') return send('ERR relay jammed');
    if (override === 'garbage') return send('BANANA 42');
    if (override === 'partial') return send('OK', false);
    if (override === 'overlong') return send('X'.repeat(5000));
    return send('OK');
  }
  send('ERR unknown command');
}

port.on('data', (chunk: Buffer) => {
  pending += chunk.toString('latin1');
  let end: number;
  while ((end = pending.indexOf(TERMINATOR)) !== -1) {
    const line = pending.slice(0, end);
    pending = pending.slice(end + TERMINATOR.length);
    process.stdout.write(JSON.stringify({ rx: line }) + '\n');
    answer(line);
  }
});

createInterface({ input: process.stdin }).on('line', (instruction) => {
  const [verb, ...rest] = instruction.split(' ');
  const arg = rest.join(' ');
  if (verb === 'next') next = arg;
  else if (verb === 'silent') silent = arg === 'on';
  else if (verb === 'door') status.door = arg;
  else if (verb === 'in') status.in = Number(arg);
  else if (verb === 'out') status.out = Number(arg);
  else if (verb === 'send') send(arg);
  process.stdout.write(JSON.stringify({ done: instruction }) + '\n');
});
process.stdin.on('end', () => port.close());

port.open((err) => {
  if (err) {
    process.stderr.write(`line device cannot open ${path}: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
});
