// `--slow-fsync-ms N` of the benchmarks: the environment that makes a child process's every fsync
// and fdatasync wait N ms more (slow-disk/slow-fsync.c, built here with the system's C compiler and
// loaded with LD_PRELOAD), to measure the gateway as it runs on an SD card or a busy shared disk.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./slow-disk/slow-fsync.c', import.meta.url));

export function slowFsyncEnv(extraMs: number): Record<string, string> {
  const library = join(mkdtempSync(join(tmpdir(), 'gatehouse-slow-disk-')), 'slow-fsync.so');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', library, SOURCE, '-ldl'], { stdio: 'pipe' });
  } catch (err) {
    const detail = (err as { stderr?: Buffer; code?: string }).stderr?.toString() || (err as Error).message;
    throw new Error(`--slow-fsync-ms needs a C compiler (cc; Debian: apt-get install gcc) to build ${SOURCE}: ${detail}`);
  }
  return { LD_PRELOAD: library, SLOW_FSYNC_MS: String(extraMs) };
}
