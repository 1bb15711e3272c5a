/**
 * onnxruntime's WebGPU execution provider gives every session of a process the same device and command
 * encoder. Runs of two sessions from two threads at once break it ("Command encoding already finished",
 * then an abort), so the session threads take this lock, an Int32 in shared memory, around whatever they
 * do with a WebGPU session. A waiting thread blocks (`Atomics.wait`): it is a session thread, whose runs
 * block it anyway. Processes (`COYO_HTTP_PROCESSES`) each have their own device, so they run in parallel.
 */

/** The lock every session thread of this process shares (0: free, 1: held). */
export const WEBGPU_LOCK = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);

/** Runs `work` holding `lock`, releasing it however `work` ends. */
export async function withLock<T>(lock: SharedArrayBuffer, work: () => Promise<T>): Promise<T> {
  const cell = new Int32Array(lock);
  while (Atomics.compareExchange(cell, 0, 0, 1) !== 0) Atomics.wait(cell, 0, 1);
  try {
    return await work();
  } finally {
    Atomics.store(cell, 0, 0);
    Atomics.notify(cell, 0, 1);
  }
}
