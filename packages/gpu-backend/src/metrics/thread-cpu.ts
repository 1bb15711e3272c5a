/**
 * CPU time of single threads of this process, from Linux's /proc: which thread (the event loop, a
 * pre-processing thread, a model session) a replica's CPU goes to. Elsewhere every answer is `undefined`.
 */
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';

/** Linux reports per-thread times in USER_HZ, 100 per second on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** The kernel's id of the calling thread (its entry under /proc/self/task), or `undefined` off Linux. */
export function currentThreadId(): number | undefined {
  try {
    // "<pid>/task/<tid>"
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isSafeInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds thread `tid` of this process has used, or `undefined` when it cannot be read. */
export function threadCpuSeconds(tid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
  } catch {
    return undefined; // not Linux, or the thread ended
  }
  // After "(comm) ", utime and stime are the 12th and 13th fields.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / TICKS_PER_SECOND : undefined;
}

/** Longest kernel thread name, in bytes (Linux's TASK_COMM_LEN less its terminator). */
export const KERNEL_NAME_MAX = 15;

/**
 * Gives the calling thread a kernel name (`/proc/self/task/<tid>/comm`, cut to {@link KERNEL_NAME_MAX}
 * bytes), which threads it starts afterwards inherit: onnxruntime's pool threads, started while a
 * session thread creates its session, carry that thread's name, so their CPU time can be told from the
 * rest of the process's. Returns the name given, or `undefined` where threads cannot be named. Backend
 * threads are named at their entry (`backend/thread-entry.mjs`, `one-file.ts`), before their module runs.
 */
export function nameCurrentThread(name: string): string | undefined {
  const tid = currentThreadId();
  if (tid === undefined) return undefined;
  const kernelName = Buffer.from(name, 'utf8').subarray(0, KERNEL_NAME_MAX).toString('latin1');
  try {
    writeFileSync(`/proc/self/task/${tid}/comm`, kernelName);
    return kernelName;
  } catch {
    return undefined;
  }
}

/** The kernel name of every thread of this process alive now, by kernel id; empty off Linux. */
export function threadNames(): Map<number, string> {
  const names = new Map<number, string>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return names;
  }
  for (const tid of tids) {
    try {
      names.set(Number(tid), readFileSync(`/proc/self/task/${tid}/comm`, 'latin1').trimEnd());
    } catch {
      // it ended
    }
  }
  return names;
}
