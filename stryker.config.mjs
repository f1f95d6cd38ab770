// Mutation testing of the safety core (issue 19): `npm run mutate` runs every group below in turn;
// `MUTATE_GROUP=topics npm run mutate` runs one. Each group mutates a few source files and lists the
// fast test files that cover them. Stryker's tap runner runs each test file as its own node process
// (node:test prints TAP when its output is not a terminal) and records which mutants each file
// reaches, so a mutant runs only the files that reach it, stopping at the first failure.
// Slow on a shared machine: see docs/testing.md for the run time and the score of each group.
const groups = {
  topics: {
    mutate: ['src/topics.ts', 'src/mqtt-topic.ts'],
    tests: ['test/topics.test.ts', 'test/mqtt-topic.test.ts', 'test/broker/acl.test.ts'],
  },
  acl: {
    mutate: ['src/broker/acl.ts', 'src/broker/publish-policy.ts'],
    tests: ['test/broker/acl.test.ts', 'test/broker/publish-policy.test.ts', 'test/topics.test.ts'],
  },
  commands: {
    mutate: ['src/commands/envelope.ts', 'src/commands/expiry.ts', 'src/commands/ledger.ts', 'src/commands/device-queue.ts', 'src/commands/result.ts'],
    tests: ['test/commands/device-queue.test.ts', 'test/commands/envelope.test.ts', 'test/commands/expiry.test.ts', 'test/commands/pipeline.test.ts', 'test/commands/stores.test.ts', 'test/commands/result.test.ts'],
  },
  pipeline: {
    mutate: ['src/commands/pipeline.ts'],
    tests: ['test/commands/pipeline.test.ts', 'test/commands/envelope.test.ts'],
  },
  journal: {
    mutate: ['src/commands/journal.ts', 'src/commands/event-journal.ts', 'src/commands/journal-retention.ts'],
    tests: [
      'test/commands/stores.test.ts',
      'test/commands/event-journal.test.ts',
      'test/commands/journal-retention.test.ts',
      'test/commands/journal.test.ts',
    ],
  },
  devices: {
    // The door pieces and the kinds that hold doors; the camera's pieces are the `cameras` group.
    mutate: [
      'src/devices/kinds/*.ts',
      'src/devices/capabilities/*.ts',
      '!src/devices/kinds/camera.ts',
      '!src/devices/capabilities/{camera-events,camera-events-config,snapshots,device-facts,ptz-motion}.ts',
    ],
    tests: [
      'test/devices/gate.test.ts',
      'test/devices/turnstile.test.ts',
      'test/devices/barrier.test.ts',
      'test/devices/device.test.ts',
      'test/devices/kinds/index.test.ts',
      'test/devices/kinds/gateway.test.ts',
      'test/devices/capabilities/{action-port,compose,contact-input,end-limits,momentary-outputs,output-lane,passage-counter,pulsed-output,safety-loop}.test.ts',
    ],
  },
  cameras: {
    mutate: ['src/devices/kinds/camera.ts', 'src/devices/capabilities/{camera-events,camera-events-config,snapshots,device-facts}.ts'],
    tests: ['test/devices/camera.test.ts', 'test/devices/kinds/index.test.ts', 'test/devices/capabilities/{camera-events*,device-facts,snapshots}.test.ts', 'test/config/onvif.test.ts'],
  },
};

export const groupNames = Object.keys(groups);
const name = process.env.MUTATE_GROUP ?? 'topics';
const group = groups[name];
if (!group) throw new Error(`stryker.config.mjs: MUTATE_GROUP=${name} is not one of ${groupNames.join(', ')}`);

export default {
  testRunner: 'tap',
  tap: { testFiles: group.tests, nodeArgs: ['--import', 'tsx', '-r', '{{hookFile}}', '{{testFile}}'], forceBail: true },
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: group.mutate,
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  timeoutMS: 60000,
  ignorePatterns: ['data', 'dist', 'reports', '.stryker-tmp'],
  tempDirName: '.stryker-tmp',
  reporters: ['clear-text', 'html', 'json', 'progress'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  thresholds: { high: 90, low: 80, break: null },
};
