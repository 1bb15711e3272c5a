import { copyFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PointerSchema } from '@coyo/coyo-schema';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { main, type CliIo } from './cli.js';
import { Duck } from './duck.js';
import { writeSample } from './sample.js';
import { defined } from '@coyo/coyo-reader/testing';

const WRANGLER_CONFIG = resolve(import.meta.dirname, '../../../wrangler.toml');

function capture(env: NodeJS.ProcessEnv = {}): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env,
    out: () => out,
    err: () => err,
  };
}

describe('coyo-ingest', () => {
  it('prints the usage for --help', async () => {
    const io = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toContain('coyo-ingest sample');
  });

  it('exits 2 and names the option when an argument is invalid', async () => {
    const io = capture();
    expect(await main(['sample', '--rows', 'many'], io)).toBe(2);
    expect(io.err()).toContain('--rows must be a number');
  });

  it('exits 2 for an unknown option', async () => {
    const io = capture();
    expect(await main(['ingest', '--colour', 'red'], io)).toBe(2);
    expect(io.err()).toMatch(/colour/);
  });

  it('exits 2 and reports the duplicate ids when inputs repeat rows', async () => {
    const input = await tempDir();
    await writeSample({ rows: 300, outDir: input, seed: 5, files: 1 });
    const copy = await tempDir();
    await copyFile(join(input, 'part-00000.parquet'), join(copy, 'again.parquet'));
    const io = capture();
    const status = await main(['ingest', input, copy, '--target', 'dir', '--dir', await tempDir(), '--work-dir', await tempDir()], io);
    expect(status).toBe(2);
    expect(io.err()).toContain('refused: 300 duplicate id(s)');
    expect(io.err()).toMatch(/id \d+: 2 rows/);
  });

  it('exits 2 and publishes nothing when a score is NaN, naming the file, column and an id', async () => {
    const input = await tempDir();
    await writeSample({ rows: 300, outDir: input, seed: 10, files: 1 });
    const bad = join(await tempDir(), 'nan.parquet');
    const duck = await Duck.open();
    let id: bigint;
    try {
      const source = `read_parquet('${join(input, 'part-00000.parquet')}')`;
      id = (await duck.all(`SELECT min(id) AS id FROM ${source}`))[0]?.['id'] as bigint;
      await duck.run(
        `COPY (SELECT * REPLACE (CASE WHEN id = ${id} THEN 'NaN'::FLOAT ELSE clip_similarity_vitb32 END AS clip_similarity_vitb32)
         FROM ${source}) TO '${bad}' (FORMAT parquet)`,
      );
    } finally {
      duck.close();
    }
    const target = await tempDir();
    const io = capture();
    const status = await main(['ingest', bad, '--target', 'dir', '--dir', target, '--work-dir', await tempDir(), '--progress', 'none'], io);
    expect(status).toBe(2);
    expect(io.err()).toContain(`${bad}: column "clip_similarity_vitb32" has 1 row(s) with NaN or ±Infinity (e.g. id ${id})`);
    expect(await readdir(target)).toEqual([]);
  });

  it('exits 2 when the r2 target lacks credentials, naming the variable', async () => {
    const input = await tempDir();
    await writeSample({ rows: 100, outDir: input, seed: 6, files: 1 });
    const io = capture({ R2_ACCOUNT_ID: 'a', R2_ACCESS_KEY_ID: 'k', R2_SECRET_ACCESS_KEY: 's' });
    expect(await main(['ingest', input, '--target', 'r2', '--work-dir', await tempDir(), '--progress', 'none'], io)).toBe(2);
    expect(io.err()).toContain('R2_BUCKET');
  });

  it('exits 2 for a local bucket binding the config lacks, before building anything', async () => {
    const input = await tempDir();
    await writeSample({ rows: 100, outDir: input, seed: 8, files: 1 });
    const work = await tempDir();
    const io = capture();
    const args = ['ingest', input, '--target', 'local', '--config', WRANGLER_CONFIG, '--persist', await tempDir(), '--work-dir', work];
    expect(await main([...args, '--binding', 'NO_SUCH_BUCKET', '--progress', 'none'], io)).toBe(2);
    expect(io.err()).toContain('NO_SUCH_BUCKET');
    expect(await readdir(work)).toEqual([]);
  });

  it('checks the r2 settings before building anything', async () => {
    const input = await tempDir();
    await writeSample({ rows: 100, outDir: input, seed: 9, files: 1 });
    const work = await tempDir();
    const io = capture({ R2_ACCOUNT_ID: 'a', R2_ACCESS_KEY_ID: 'k', R2_BUCKET: 'b' });
    expect(await main(['ingest', input, '--target', 'r2', '--work-dir', work, '--progress', 'none'], io)).toBe(2);
    expect(io.err()).toContain('R2_SECRET_ACCESS_KEY');
    expect(await readdir(work)).toEqual([]);
  });

  it('publishes into the local R2 persist folder that wrangler dev reads', async () => {
    const input = await tempDir();
    await writeSample({ rows: 2500, outDir: input, seed: 7, files: 2 });
    const persist = await tempDir();
    const io = capture();
    const args = ['ingest', input, '--target', 'local', '--config', WRANGLER_CONFIG, '--persist', persist, '--work-dir', await tempDir()];
    expect(await main([...args, '--row-group-size', '2048', '--shard-rows', '2048', '--progress', 'json'], io)).toBe(0);
    const summary = JSON.parse(io.out()) as { version: string; shards: number; uploaded: number };
    expect(summary).toMatchObject({ shards: 2, uploaded: 2 });
    const events = io.err().trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    expect(events.filter((e) => e.event === 'shard-uploaded')).toHaveLength(2);

    const { getPlatformProxy } = await import('wrangler');
    const proxy = await getPlatformProxy<{ COYO_BUCKET: { get(k: string): Promise<{ text(): Promise<string> } | null> } }>({
      configPath: WRANGLER_CONFIG,
      persist: { path: persist },
    });
    try {
      const pointer = PointerSchema.parse(JSON.parse(await defined(await proxy.env.COYO_BUCKET.get('current.json')).text()));
      expect(pointer.version).toBe(summary.version);
      expect(await proxy.env.COYO_BUCKET.get(pointer.manifest_key)).not.toBeNull();
    } finally {
      await proxy.dispose();
    }
  });
});
