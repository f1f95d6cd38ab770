// The dispatcher's table: every command's name, help text and options, as data. A command's code
// is imported by its `load` only when that command runs, so `gatehouse version` or any `--help`
// loads none of the gateway (aedes, SQLite, prom-client, ...). This file must import nothing.

/** What a command's module exports: its run function. The options are parsed from the table. */
export interface CliCommand {
  /** `operands`: the arguments that are not options (only for a command whose spec declares operands). */
  run(values: Record<string, string | boolean | string[] | undefined>, operands: string[]): Promise<number | undefined>;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder of a string option's value in help and usage, e.g. FILE. */
  value?: string;
  description: string;
  /** What applies when the option is not given, as shown in help. */
  default?: string;
  /** The command refuses to run without it. */
  required?: boolean;
  /**
   * `--watch` alone means `--watch=<optionalValue>`: the next argument is the value only when it
   * does not start with "-". parseArgs has no optional values, so the dispatcher rewrites.
   */
  optionalValue?: string;
  /** May be given more than once; the command gets every value, in order. */
  multiple?: boolean;
}

export interface CommandSpec {
  /** One line, for the command list. */
  summary: string;
  /** Paragraphs after the usage line of `gatehouse <command> --help`. */
  description?: string;
  /** Arguments that are not options, as the usage line shows them (e.g. `modbus|onvif ADDRESS`); absent: options only. */
  operands?: string;
  options: Record<string, OptionSpec>;
  load(): Promise<CliCommand>;
}

const CONFIG_FILE = 'the site configuration, YAML or JSON (GATEHOUSE_* variables override its keys)';
const DATA_DIR_DEFAULT = '$GATEHOUSE_DATA_DIR, else ./data';
const JSON_OUTPUT = 'one JSON document instead of text';

export const commands: Record<string, CommandSpec> = {
  run: {
    summary: 'run the gateway (SIGHUP reloads the config, SIGTERM or SIGINT stops it cleanly)',
    description: 'Logs are JSON lines (pino) on stdout. Exit 0 after a clean stop, 1 when the config is invalid or the gateway could not start, 124 when a stop overran --stop-timeout-ms, 130 on a second signal, 70 on an internal error.',
    options: {
      config: { type: 'string', short: 'c', value: 'FILE', required: true, description: CONFIG_FILE },
      'data-dir': { type: 'string', value: 'DIR', description: 'directory of the database and snapshots', default: '$GATEHOUSE_DATA_DIR, else data_dir of the config, else ./data' },
      'stop-timeout-ms': { type: 'string', value: 'MS', description: 'longest clean stop before exiting anyway (code 124)', default: '30000' },
    },
    load: async () => (await import('./run.js')).run,
  },
  demo: {
    summary: 'the gateway on the demo site, with simulated gates, turnstile and camera',
    description: 'Runs config/demo.yaml against a Modbus TCP site simulator and an ONVIF camera simulator in the same process, and prints how to talk to it (users guard / guard-demo and display / display-demo). Ctrl-C stops it.',
    options: {
      'data-dir': { type: 'string', value: 'DIR', description: 'directory of the demo database and snapshots', default: '$GATEHOUSE_DATA_DIR, else ./data/demo' },
      port: { type: 'string', value: 'N', description: 'MQTT port; 0 picks a free one', default: '1883 ($GATEHOUSE_BROKER_PORT)' },
      seed: { type: 'string', value: 'N', description: 'seed of the simulator\'s random choices (the same seed replays the same run)', default: 'a fresh one' },
    },
    load: async () => (await import('./demo.js')).demo,
  },
  check: {
    summary: 'validate a config, list its devices and print its security posture',
    description: 'Reports every problem at once, each under its key path. For a valid config it lists the devices and ends with the security posture: anonymous access, listeners and TLS, client certificates, metrics address, uplink, and sample passwords copied from config/demo.yaml or config/example-site.yaml. Exit 0 valid, 1 invalid, 2 usage.',
    options: {
      config: { type: 'string', short: 'c', value: 'FILE', required: true, description: CONFIG_FILE },
    },
    load: async () => (await import('./check.js')).check,
  },
  passwd: {
    summary: 'hash a password for the users section of the config',
    description: 'Asks twice on a terminal (nothing is echoed); otherwise reads the first line of stdin, e.g. `printf %s "$PW" | gatehouse passwd`. Prints one scrypt hash for password_hash.',
    options: {},
    load: async () => (await import('./passwd.js')).passwd,
  },
  journal: {
    summary: 'print the audit journal: commands, security refusals and device events',
    description:
      'T is an ISO date-time (2026-11-23T10:00), an epoch in ms, or a time ago: 15m, 2h, 7d. Reads the database read-only while the gateway runs, and says on stderr which database it reads. Without --data-dir or --config it tries $GATEHOUSE_DATA_DIR, ./data, the data_dir of /etc/gatehouse/gatehouse.yaml, then ./data/demo, and lists every path it tried when none holds a journal.',
    options: {
      'data-dir': { type: 'string', value: 'DIR', description: 'the gateway\'s data directory (data_dir)', default: '$GATEHOUSE_DATA_DIR, else ./data, else the installed service\'s, else ./data/demo' },
      config: { type: 'string', short: 'c', value: 'FILE', description: 'use the data_dir of this config, as `run --config FILE` would' },
      since: { type: 'string', value: 'T', description: 'entries at or after T', default: 'the oldest kept' },
      until: { type: 'string', value: 'T', description: 'entries before T (not with --follow)', default: 'now' },
      type: { type: 'string', value: 'TYPE', description: 'one entry type (command, auth_failed, lockout, publish_denied, subscribe_denied, event, session_expired, commissioning) or a device event name (door_forced, door_held_open, passage, snapshot, ...)', default: 'all types' },
      device: { type: 'string', value: 'ID', description: 'one device\'s entries', default: 'all devices' },
      limit: { type: 'string', value: 'N', description: 'the newest N entries at most (with --follow: of those before it started)', default: 'no limit; with --follow and no --since: 10' },
      follow: { type: 'boolean', short: 'f', description: 'then print new entries as they are written, like tail -f, until Ctrl-C (SIGINT) or SIGTERM' },
      json: { type: 'boolean', description: 'one JSON object per line, the stored entry unchanged' },
    },
    load: async () => (await import('./journal.js')).journal,
  },
  outbox: {
    summary: 'the cloud outbox: depth, bytes, oldest age, drops (gateway running or not)',
    options: {
      'data-dir': { type: 'string', value: 'DIR', description: 'the gateway\'s data directory (data_dir)', default: DATA_DIR_DEFAULT },
      json: { type: 'boolean', description: JSON_OUTPUT },
    },
    load: async () => (await import('./outbox.js')).outbox,
  },
  status: {
    summary: 'one screen on a running gateway: devices, recent events and refusals, health',
    description:
      'Reads the gateway\'s metrics listener (/healthz, /metrics, /status.json). Shows the site and gateway answering, each device\'s state, the last events, and the last refused logins, publishes and subscriptions with their reason. Exit 0 healthy, 1 unhealthy, 2 usage or config problem, 3 unreachable (or another site\'s gateway answers at the address of --config).',
    options: {
      url: { type: 'string', value: 'URL', description: 'the gateway\'s metrics address', default: 'metrics.host and metrics.port of --config FILE, else http://127.0.0.1:9464; $GATEHOUSE_METRICS_HOST and $GATEHOUSE_METRICS_PORT override both' },
      config: { type: 'string', short: 'c', value: 'FILE', description: 'take the metrics address (and the site to expect) from this config' },
      json: { type: 'boolean', description: JSON_OUTPUT },
      timeout: { type: 'string', value: 'MS', description: 'how long to wait for each answer', default: '5000' },
      watch: { type: 'string', short: 'w', value: 'SECONDS', optionalValue: '2', description: 'clear the screen and redraw every SECONDS until Ctrl-C', default: 'print once; --watch alone: every 2 s' },
    },
    load: async () => (await import('./status.js')).status,
  },
  ports: {
    summary: 'list the machine\'s serial ports (for modbus-rtu transports)',
    options: {},
    load: async () => (await import('./ports.js')).ports,
  },
  probe: {
    summary: 'hardware not configured yet: Modbus reads, writes, unit scan; ONVIF camera facts',
    operands: 'modbus|onvif ADDRESS',
    description:
      'ADDRESS for modbus: tcp://HOST:PORT, or rtu:/dev/ttyUSB0?baud=9600&parity=none&data_bits=8&stop_bits=1 (line settings optional). For onvif: the camera\'s device service URL, http(s)://HOST[:PORT]/onvif/device_service. The probe uses the gateway\'s own transport and driver code, so what it sees is what the gateway will see. A write asks "write ... to unit N at ...? [y/N]" on a terminal and is refused without a terminal unless --yes is given. Exit 0 when everything answered, 1 when the device could not be reached or a request failed, 2 for a mistake on the command line.',
    options: {
      unit: { type: 'string', value: 'N', description: 'modbus: the unit id (the slave address on a serial bus)', default: '1' },
      read: { type: 'string', value: 'TABLE:ADDRESS:COUNT', multiple: true, description: 'modbus: read COUNT values from ADDRESS of coils, discrete, holding or input (registers); repeatable' },
      write: { type: 'string', value: 'TABLE:ADDRESS=VALUE', description: 'modbus: write coil:ADDRESS=0|1 or holding:ADDRESS=0..65535, then read it back' },
      yes: { type: 'boolean', short: 'y', description: 'modbus: write without asking (needed when not on a terminal)' },
      scan: { type: 'string', value: 'FIRST-LAST', description: 'modbus: read holding register 0 of each unit in the range and list those that answer' },
      user: { type: 'string', value: 'USER', description: 'onvif: the camera user (WS-Security, and HTTP Digest or Basic)' },
      password: { type: 'string', value: 'PASSWORD', description: 'onvif: the user\'s password; better in $GATEHOUSE_ONVIF_PASSWORD, which keeps it out of the shell history', default: '$GATEHOUSE_ONVIF_PASSWORD' },
      timeout: { type: 'string', value: 'MS', description: 'how long to wait for each answer', default: 'modbus 1000, a scan 200 per unit, onvif 5000' },
      json: { type: 'boolean', description: JSON_OUTPUT },
    },
    load: async () => (await import('./probe.js')).probe,
  },
  simulate: {
    summary: 'only the Modbus TCP site simulator of the demo, for integrators',
    description: 'Units 1 and 2 are gates (coil 0 unlock, discrete input 0 door), unit 3 a turnstile (coils 0/1 pass in/out, coil 2 free, input registers 0/1 counters). Ctrl-C stops it.',
    options: {
      port: { type: 'string', value: 'N', description: 'Modbus TCP port', default: '0: a free port (logged)' },
      host: { type: 'string', value: 'HOST', description: 'address to listen on', default: '127.0.0.1' },
      seed: { type: 'string', value: 'N', description: 'seed of the random choices (the same seed replays the same run)', default: 'a fresh one' },
    },
    load: async () => (await import('./simulate.js')).simulate,
  },
  version: {
    summary: 'print the version (also gatehouse --version, -V)',
    options: {},
    load: async () => (await import('./version.js')).version,
  },
};
