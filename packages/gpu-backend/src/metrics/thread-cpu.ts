/**
 * CPU time of single threads of this process, from Linux's /proc: which thread (the event loop, a
 * pre-processing thread, a model session) a replica's CPU goes to. Elsewhere every answer is `undefined`.
 */
import { readFileSync, readlinkSync } from 'node:fs';

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
