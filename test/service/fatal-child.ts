// A process that installs gatehouse's fatal-error handlers (as `gatehouse run` does) and then fails
// the way a bug would: `throw` from a timer, or `reject` a promise nobody handles.
import { createLogger } from '../../src/log.js';
import { installFatalHandlers } from '../../src/service/fatal.js';

const log = createLogger('info', { pretty: false });
installFatalHandlers(log);
if (process.argv[2] === 'throw') {
  setTimeout(() => {
    throw new Error('thrown from a timer');
  }, 10);
} else {
  void Promise.reject(new Error('rejected and never handled'));
}
// Never reached when the handlers work: they exit first.
setTimeout(() => process.exit(0), 10_000);
