import { hashPassword } from '../broker/password.js';
import type { CliCommand } from './index.js';

const MIN_LENGTH = 8;

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
}

/** Read one line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('interrupted'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export const passwd: CliCommand = {
  async run() {
    let password: string;
    if (process.stdin.isTTY) {
      password = await promptHidden('Password: ');
      if ((await promptHidden('Again: ')) !== password) {
        process.stderr.write('gatehouse passwd: the passwords differ\n');
        return 1;
      }
    } else {
      password = await readStdinLine();
    }
    if (password.length < MIN_LENGTH) {
      process.stderr.write(`gatehouse passwd: a password needs at least ${MIN_LENGTH} characters\n`);
      return 1;
    }
    process.stdout.write(`${await hashPassword(password)}\n`);
    return 0;
  },
};
