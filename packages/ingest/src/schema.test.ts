import { COYO_COLUMNS } from '@coyo/coyo-schema';
import { describe, expect, it } from 'vitest';
import { DUCKDB_COLUMNS, checkSchema, columnType, describeNonFinite, describeSchemaProblem } from './schema.js';
import { defined } from '@coyo/coyo-reader/testing';

const good = DUCKDB_COLUMNS.map((c) => ({ name: c.name, type: c.type }));

describe('checkSchema', () => {
  it('accepts the 17 COYO columns', () => {
    expect(checkSchema('a.parquet', good)).toEqual([]);
  });

  it('names the file and the missing column', () => {
    const [problem, ...rest] = checkSchema('part-1.parquet', good.filter((c) => c.name !== 'watermark_score'));
    expect(rest).toEqual([]);
    expect(describeSchemaProblem(defined(problem))).toBe('part-1.parquet: column "watermark_score" is missing (expected FLOAT)');
  });

  it('names the file and a column of the wrong type', () => {
    const columns = good.map((c) => (c.name === 'width' ? { name: 'width', type: 'VARCHAR' } : c));
    const messages = checkSchema('x.parquet', columns).map(describeSchemaProblem);
    expect(messages).toEqual(['x.parquet: column "width" has type VARCHAR, expected INTEGER']);
  });

  it('reports columns that are not part of the schema', () => {
    const messages = checkSchema('y.parquet', [...good, { name: 'labels', type: 'VARCHAR[]' }]).map(describeSchemaProblem);
    expect(messages).toEqual(['y.parquet: column "labels" (VARCHAR[]) is not part of the COYO schema']);
  });
});

describe('DUCKDB_COLUMNS', () => {
  it('lists every COYO column in the dataset order', () => {
    expect(DUCKDB_COLUMNS.map((c) => c.name)).toEqual(COYO_COLUMNS);
  });

  it('gives each column the DuckDB type of its parquet type (int64 BIGINT, int32 INTEGER, float32 FLOAT, string VARCHAR)', () => {
    expect([columnType('id'), columnType('width'), columnType('watermark_score'), columnType('image_phash')]).toEqual([
      'BIGINT',
      'INTEGER',
      'FLOAT',
      'VARCHAR',
    ]);
    expect(DUCKDB_COLUMNS.every((c) => columnType(c.name) === c.type)).toBe(true);
  });
});

describe('describeNonFinite', () => {
  it('names the file, the column, the row count and an example id', () => {
    const line = describeNonFinite({ file: 'part-7.parquet', column: 'watermark_score', rows: 12, exampleId: '2680060225205' });
    expect(line).toBe('part-7.parquet: column "watermark_score" has 12 row(s) with NaN or ±Infinity (e.g. id 2680060225205)');
  });

  it('says so when none of the rows has an id', () => {
    const line = describeNonFinite({ file: 'a.parquet', column: 'clip_similarity_vitb32', rows: 1, exampleId: null });
    expect(line).toBe('a.parquet: column "clip_similarity_vitb32" has 1 row(s) with NaN or ±Infinity (none of them has an id)');
  });
});
