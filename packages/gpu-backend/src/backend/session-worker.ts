/**
 * Session thread: owns one onnxruntime InferenceSession for its whole life. `InferenceSession.create()`
 * and `session.run()` block the thread that calls them, so they happen here and never on the event loop.
 * Runs are served one at a time, in arrival order; `close` releases the session, answers `closed`, and
 * lets the thread end on its own (terminating a thread during a run aborts the process).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { float16ToFloat32, float32ToFloat16 } from './float16.js';
import { transferList, type FromSession, type SessionInit, type ToSession, type ValueInfo, type WireOutput } from './session-protocol.js';
import type { Device } from './types.js';
import { withLock } from './webgpu-lock.js';
import { currentThreadId } from '../metrics/thread-cpu.js';

const port = parentPort;
if (port === null) throw new Error('bug: session-worker.ts must run in a worker thread');
const init = (workerData as { data: SessionInit }).data;

function post(message: FromSession, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

function describe(metadata: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return metadata.map((m) => ({ name: m.name, type: m.isTensor ? m.type : 'non-tensor' }));
}

/**
 * Why the CUDA execution provider cannot start here, or `undefined` when it may. Checking for the provider
 * library first avoids onnxruntime's own error dump when it was never installed (ONNXRUNTIME_NODE_INSTALL=skip).
 */
function cudaUnavailable(): string | undefined {
  if (!ort.listSupportedBackends().some((b) => b.name === 'cuda')) {
    return 'this onnxruntime-node build has no CUDA execution provider';
  }
  const bin = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  const library = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!existsSync(join(bin, library))) {
    return `${library} is not installed in ${bin} (install onnxruntime-node without ONNXRUNTIME_NODE_INSTALL=skip)`;
  }
  return undefined;
}

/** Session config entries `session.intra_op.allow_spinning` / `session.inter_op.allow_spinning`. */
function spinning(allow: boolean): Record<string, Record<string, string>> {
  const value = allow ? '1' : '0';
  return { intra_op: { allow_spinning: value }, inter_op: { allow_spinning: value } };
}

/** Why a provider failed to create the session, as one line. */
function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).trim();
}

/**
 * Why the WebGPU execution provider cannot start here, or `undefined` when it may. It is built into the
 * bundled onnxruntime library on Linux x64, Windows and macOS; whether a Vulkan (or Metal, D3D12)
 * adapter exists is only known by trying.
 */
function webgpuUnavailable(): string | undefined {
  if (!ort.listSupportedBackends().some((b) => b.name === 'webgpu')) {
    return `this onnxruntime-node build (${process.platform}-${process.arch}) has no WebGPU execution provider`;
  }
  return undefined;
}

/** What the WebGPU provider needs on Linux, appended to its start-up failures. */
const WEBGPU_NEEDS =
  'it needs a Vulkan loader (libvulkan1) and a Vulkan driver: an NVIDIA driver\'s ICD, or for tests SwiftShader ' +
  '(VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json)';

type Created = { session: ort.InferenceSession; device: Device; fallback?: string };

async function createSession(): Promise<Created> {
  const options = (executionProviders: string[]): ort.InferenceSession.SessionOptions => ({
    executionProviders,
    graphOptimizationLevel: 'all',
    ...(init.intraOpThreads > 0 ? { intraOpNumThreads: init.intraOpThreads } : {}),
    // onnxruntime's pool threads busy-wait between operators and after a run by default. On a CPU shared
    // with the event loop, the pre-processing threads and the other sessions, that spinning takes the
    // cores they need; sleeping threads cost a wake-up (microseconds) per parallel section instead.
    extra: { session: spinning(init.allowSpinning) },
  });
  const on = async (device: Device): Promise<Created> => {
    const create = () => ort.InferenceSession.create(init.modelPath, options([device]));
    return { session: await (device === 'webgpu' ? withLock(init.webgpuLock, create) : create()), device };
  };
  if (init.device === 'cpu') return on('cpu');
  if (init.device === 'cuda') {
    const unavailable = cudaUnavailable();
    if (unavailable !== undefined) throw new Error(`COYO_DEVICE=cuda but ${unavailable}`);
    return on('cuda');
  }
  if (init.device === 'webgpu') {
    const unavailable = webgpuUnavailable();
    if (unavailable !== undefined) throw new Error(`COYO_DEVICE=webgpu but ${unavailable}`);
    try {
      return await on('webgpu');
    } catch (error) {
      throw new Error(`COYO_DEVICE=webgpu but the WebGPU execution provider failed to start (${WEBGPU_NEEDS}): ${reason(error)}`);
    }
  }
  // auto: the fastest provider that starts, each one that does not saying why.
  const skipped: string[] = [];
  const passedOver = () => (skipped.length > 0 ? { fallback: skipped.join('; ') } : {});
  for (const [device, unavailable] of [
    ['cuda', cudaUnavailable],
    ['webgpu', webgpuUnavailable],
  ] as const) {
    const why = unavailable();
    if (why !== undefined) {
      skipped.push(`${device}: ${why}`);
      continue;
    }
    try {
      return { ...(await on(device)), ...passedOver() };
    } catch (error) {
      const needs = device === 'webgpu' ? ` (${WEBGPU_NEEDS})` : '';
      skipped.push(`${device}: the execution provider failed to start${needs}: ${reason(error)}`);
    }
  }
  return { ...(await on('cpu')), ...passedOver() };
}

function toOutput(value: ort.OnnxValue): WireOutput {
  if (!(value instanceof ort.Tensor)) throw new Error('the model returned a non-tensor output');
  const dims = [...value.dims];
  if (value.type === 'float32') return { data: new Float32Array(value.data as Float32Array), dims };
  if (value.type === 'float16') return { data: float16ToFloat32(value.data as Uint16Array), dims };
  throw new Error(`unsupported output type ${value.type}`);
}

async function main(): Promise<void> {
  let created: Awaited<ReturnType<typeof createSession>>;
  try {
    created = await createSession();
  } catch (error) {
    post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
    port?.close();
    return;
  }
  const { session } = created;
  /** Every use of a WebGPU session holds the process's lock (`webgpu-lock.ts`). */
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => (created.device === 'webgpu' ? withLock(init.webgpuLock, work) : work());
  const tid = currentThreadId();
  const inputTypes = new Map(describe(session.inputMetadata).map((v) => [v.name, v.type]));
  post({
    kind: 'ready',
    ...(tid !== undefined ? { tid } : {}),
    device: created.device,
    inputs: describe(session.inputMetadata),
    outputs: describe(session.outputMetadata),
    ...(created.fallback !== undefined ? { fallback: created.fallback } : {}),
  });

  // Messages are handled strictly in order, so `close` waits for every run sent before it.
  let chain = Promise.resolve();
  port?.on('message', (message: ToSession) => {
    chain = chain.then(() => handle(message));
  });

  async function handle(message: ToSession): Promise<void> {
    if (message.kind === 'close') {
      await exclusive(() => session.release());
      post({ kind: 'closed' });
      port?.close();
      return;
    }
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(message.feeds)) {
        const wanted = inputTypes.get(name);
        if (tensor.type === 'float32' && wanted === 'float16') {
          feeds[name] = new ort.Tensor('float16', float32ToFloat16(tensor.data), tensor.dims);
        } else {
          feeds[name] = new ort.Tensor(tensor.type, tensor.data, tensor.dims);
        }
      }
      const results = await exclusive(() => session.run(feeds));
      const outputs: Record<string, WireOutput> = {};
      for (const [name, value] of Object.entries(results)) outputs[name] = toOutput(value);
      // onnxruntime is done with the inputs: give their buffers back for the next batch.
      const spent = transferList(Object.values(message.feeds).filter((t) => t.type === 'float32'));
      post({ kind: 'result', id: message.id, outputs, spent }, [...transferList(Object.values(outputs)), ...spent]);
    } catch (error) {
      post({ kind: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) });
    }
  }
}

void main();
