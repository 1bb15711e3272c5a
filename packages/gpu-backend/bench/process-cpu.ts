/**
 * CPU time of a process and every process below it (a replica's primary and its HTTP processes, with all
 * their threads), read from Linux's /proc: user + system time in ms.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`, 100 on Linux almost everywhere). */
function clockTicks(): number {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(out.stdout.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
}

const TICKS = clockTicks();

interface Stat {
  ppid: number;
  ticks: number;
}

/** `/proc/<pid>/stat`: after the `(comm)` field, the 2nd is ppid and the 12th and 13th utime and stime. */
function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // it ended
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** User + system CPU ms of `root` and all its descendants that are alive now. */
export function treeCpuMs(root: number): number {
  const stats = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) stats.set(Number(name), stat);
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === root) return true;
      p = stats.get(p)?.ppid ?? 0;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, stat] of stats) if (inTree(pid)) ticks += stat.ticks;
  return (ticks * 1000) / TICKS;
}

/** One thread of a process: its kernel name (`comm`) and user + system CPU ms so far. */
export interface ThreadCpu {
  name: string;
  ms: number;
}

/**
 * CPU ms of every thread of `pid` alive now, by kernel id (`/proc/<pid>/task/<tid>/stat`). The backend
 * names its threads (`preprocess:<i>`, `session:<tower>`; threads they start inherit the name, so a
 * session's onnxruntime pool carries its session's), libvips names its pool `libvips worker`, and Node 20
 * leaves its own threads (V8's platform workers, libuv's pool, loader-hook threads) named `node`.
 */
export function threadCpuMs(pid: number): Map<number, ThreadCpu> {
  const out = new Map<number, ThreadCpu>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // not Linux, or the process ended
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    } catch {
      continue; // it ended
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
    if (Number.isFinite(ms)) out.set(Number(tid), { name, ms });
  }
  return out;
}

/** Each thread's CPU ms between two {@link threadCpuMs} snapshots (a thread started in between counts from 0). */
export function threadCpuDelta(before: ReadonlyMap<number, ThreadCpu>, after: ReadonlyMap<number, ThreadCpu>): Map<number, ThreadCpu> {
  const out = new Map<number, ThreadCpu>();
  for (const [tid, { name, ms }] of after) out.set(tid, { name, ms: ms - (before.get(tid)?.ms ?? 0) });
  return out;
}
