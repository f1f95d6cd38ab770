// `node --import ./test/bench/memory-probe.mjs ...` in a child spawned with an IPC channel: answers the
// message 'memory?' with process.memoryUsage(), the size of each V8 heap space and the heap used after a forced full GC, so
// test/bench/idle-memory.ts can read the heap of a process it did not write. Loads only node: modules;
// the channel is unref'd, so it never keeps the process alive.
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

if (process.send && process.channel) {
  process.on('message', (message) => {
    if (message !== 'memory?') return;
    const before = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    setFlagsFromString('--expose-gc');
    runInNewContext('gc')();
    process.send({ memory: before, spaces, heapUsedAfterGc: process.memoryUsage().heapUsed });
  });
  process.channel.unref();
}
