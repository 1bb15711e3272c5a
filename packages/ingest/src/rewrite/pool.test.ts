import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { buildShards } from '../build.js';
import { Progress } from '../progress.js';
import { writeSample } from '../sample.js';
import { startRewritePool } from './pool.js';

/** Builds the sample with `threads`; returns the manifest's shards, the shard files' bytes and the shard phase's progress. */
async function build(input: string, threads: number) {
  const lines: string[] = [];
  let clock = 0;
  const progress = new Progress({ write: (chunk: string) => lines.push(chunk) }, 'json', () => (clock += 1000));
  const work = await tempDir();
  const { manifest, shardFiles } = await buildShards({ inputs: [input], workDir: work, rowGroupSize: 256, shardRows: 1024, threads, progress });
  const events = lines.flatMap((l) => l.split('\n')).filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const shardPhase = events.slice(events.findIndex((e) => e['event'] === 'phase' && e['phase'] === 'shard'));
  return {
    manifest,
    files: await Promise.all(shardFiles.map((f) => readFile(f))),
    done: shardPhase.filter((e) => e['event'] === 'progress').map((e) => e['done_rows']),
  };
}

describe('shard rewrite threads', () => {
  it('write the same shards, manifest and progress as the rewrite in the main thread', async () => {
    const input = await tempDir();
    await writeSample({ rows: 5000, outDir: input, seed: 5, files: 2 });
    const serial = await build(input, 1);
    const pooled = await build(input, 3);
    expect(serial.manifest.shards.length).toBe(5);
    expect({ ...pooled.manifest, created_at: '' }).toEqual({ ...serial.manifest, created_at: '' });
    expect(pooled.files.map((b) => b.toString('base64'))).toEqual(serial.files.map((b) => b.toString('base64')));
    let sum = 0;
    expect(serial.done).toEqual([0, ...serial.manifest.shards.map((s) => (sum += s.rows))]);
    expect(pooled.done).toEqual(serial.done);
  });

  it('fail a task whose stage cannot be read, with its shard named, and keep serving', async () => {
    const pool = startRewritePool(2);
    try {
      const dir = await tempDir();
      const task = { stage: join(dir, 'missing.stage'), file: join(dir, 'shard-00007.parquet'), rowGroupSize: 256, rowGroupBytes: 32_768 };
      await expect(pool.rewrite(task)).rejects.toThrow(/shard-00007\.parquet failed: .*ENOENT/s);
      await expect(pool.rewrite(task)).rejects.toThrow(/ENOENT/);
    } finally {
      await pool.close();
    }
  });
});
