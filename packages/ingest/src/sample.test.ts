import { COYO_COLUMNS } from '@coyo/coyo-schema';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { Duck } from './duck.js';
import { REAL_ROW, approximateTokens, countWords, generateRows, writeSample } from './sample.js';
import { checkSchema } from './schema.js';

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
function sd(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
}

describe('generateRows', () => {
  it('gives the same rows for the same seed', () => {
    expect(generateRows(300, 42)).toEqual(generateRows(300, 42));
  });

  it('gives different rows for different seeds', () => {
    expect(generateRows(300, 1).map((r) => r.id)).not.toEqual(generateRows(300, 2).map((r) => r.id));
  });

  it('includes the dataset card row exactly once', () => {
    const rows = generateRows(500, 3).filter((r) => r.id === REAL_ROW.id);
    expect(rows).toEqual([REAL_ROW]);
  });

  it('keeps ids unique, sparse and inside the safe-integer range', () => {
    const ids = generateRows(5000, 4).map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const sorted = [...ids].sort((a, b) => (a < b ? -1 : 1));
    const gaps = sorted.slice(1).map((id, i) => Number(id - (sorted[i] as bigint)));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1);
    expect(mean(gaps)).toBeGreaterThan(1e6);
    expect(Number(sorted.at(-1))).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
  });

  it('respects the upstream filters and keeps text statistics consistent with the text', () => {
    for (const row of generateRows(3000, 5)) {
      expect(Math.min(row.width, row.height)).toBeGreaterThanOrEqual(200);
      expect(Math.max(row.width, row.height) / Math.min(row.width, row.height)).toBeLessThanOrEqual(3);
      expect(row.nsfw_score_opennsfw2).toBeLessThanOrEqual(0.5);
      expect(row.image_phash).toMatch(/^[0-9a-f]{16}$/);
      if (row.id === REAL_ROW.id) continue;
      expect(row.text_length).toBe(row.text.length);
      expect(row.word_count).toBe(countWords(row.text));
      expect(row.word_count).toBeGreaterThanOrEqual(3);
      expect(row.word_count).toBeLessThanOrEqual(256);
      expect(row.num_tokens_bert).toBe(approximateTokens(row.text).bert);
      expect(row.num_tokens_gpt).toBeGreaterThanOrEqual(row.word_count);
      for (const score of [row.clip_similarity_vitb32, row.watermark_score, row.aesthetic_score_laion_v2]) {
        expect(Math.fround(score)).toBe(score);
      }
    }
  });

  it('draws scores around the published distributions', () => {
    const rows = generateRows(20_000, 6);
    const clip = rows.map((r) => r.clip_similarity_vitb32);
    expect(mean(clip)).toBeCloseTo(0.3, 2);
    expect(sd(clip)).toBeCloseTo(0.04, 2);
    const aesthetic = rows.map((r) => r.aesthetic_score_laion_v2);
    expect(mean(aesthetic)).toBeCloseTo(5, 1);
    expect(sd(aesthetic)).toBeGreaterThan(0.7);
    expect(sd(aesthetic)).toBeLessThan(0.9);
    const nsfw = rows.map((r) => r.nsfw_score_opennsfw2).sort((a, b) => a - b);
    expect(nsfw[Math.floor(nsfw.length / 2)]).toBeLessThan(0.02);
    expect(rows.filter((r) => r.num_faces === 0).length / rows.length).toBeGreaterThan(0.6);
  });
});

describe('writeSample', () => {
  it('writes snappy parquet files with the COYO schema and the real row intact', async () => {
    const dir = await tempDir();
    const result = await writeSample({ rows: 2500, outDir: dir, seed: 9, files: 2 });
    expect(result.files).toHaveLength(2);
    const duck = await Duck.open();
    try {
      for (const file of result.files) {
        const columns = await duck.all(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
        const problems = checkSchema(file, columns.map((c) => ({ name: String(c['column_name']), type: String(c['column_type']) })));
        expect(problems).toEqual([]);
        expect(columns.map((c) => c['column_name'])).toEqual(COYO_COLUMNS);
        const codecs = await duck.all(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
        expect(codecs.map((c) => c['compression'])).toEqual(['SNAPPY']);
      }
      const [count] = await duck.all(`SELECT count(*) AS n FROM read_parquet('${dir}/*.parquet')`);
      expect(Number(count?.['n'])).toBe(2500);
      const [real] = await duck.all(`SELECT * FROM read_parquet('${dir}/*.parquet') WHERE id = ${REAL_ROW.id}`);
      expect(real).toEqual(REAL_ROW);
    } finally {
      duck.close();
    }
  });
});

describe('writeSample, streamed', () => {
  it('writes unique ids over every file, unsorted, with the dataset card row, in the COYO schema', async () => {
    const out = await tempDir();
    const result = await writeSample({ rows: 3000, outDir: out, seed: 9, files: 3, stream: true });
    expect(result.files).toHaveLength(3);
    const duck = await Duck.open();
    try {
      const glob = `${out}/*.parquet`;
      const [stats] = await duck.all(`SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo FROM read_parquet('${glob}')`);
      expect(Number(stats?.['n'])).toBe(3000);
      expect(Number(stats?.['d'])).toBe(3000);
      expect(Number(stats?.['lo'])).toBeGreaterThanOrEqual(1e11);
      const [card] = await duck.all(`SELECT url FROM read_parquet('${glob}') WHERE id = ${REAL_ROW.id}`);
      expect(card?.['url']).toBe(REAL_ROW.url);
      const ids = (await duck.all(`SELECT id FROM read_parquet('${result.files[0] ?? ''}')`)).map((r) => Number(r['id']));
      expect(ids).not.toEqual([...ids].sort((a, b) => a - b));
      for (const file of result.files) {
        const columns = await duck.all(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
        expect(checkSchema(file, columns.map((c) => ({ name: String(c['column_name']), type: String(c['column_type']) })))).toEqual([]);
      }
    } finally {
      duck.close();
    }
  });
});
