// What Linux says about a process: resident memory and CPU time, read from /proc.
import { readFileSync } from 'node:fs';

export interface MemoryFigures {
  /** VmRSS: resident set size now. */
  rssMb: number;
  /** VmHWM: peak resident set size. */
  peakRssMb: number;
}

function kbField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`/proc status has no ${name}`);
  return Number(match[1]);
}

export function memoryOf(pid: number): MemoryFigures {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssMb: kbField(status, 'VmRSS') / 1024, peakRssMb: kbField(status, 'VmHWM') / 1024 };
}

// USER_HZ is 100 on every Linux architecture Node runs on (sysconf(_SC_CLK_TCK)).
const CLOCK_TICKS_PER_S = 100;

/** User plus system CPU time of the process so far, in ms (10 ms resolution). */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) may contain spaces; the fields after its closing ')' are space separated.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After comm, field 3 (state) is index 0, so utime (14) and stime (15) are indexes 11 and 12.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}
