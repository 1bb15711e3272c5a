import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  COYO_COLUMNS,
  COYO_SCHEMA,
  FLOAT_COLUMNS,
  INTEGER_COLUMNS,
  NULLABLE_COLUMNS,
  NUMERIC_COLUMNS,
  STORAGE_ORDER,
  STRING_COLUMNS,
  columnSpec,
  isCoyoColumn,
  isNullableColumn,
  type CoyoColumn,
  type CoyoLogicalType,
  type CoyoRowOf,
  type LogicalTypeOf,
  type NullableColumn,
  type NullableRowOf,
  type NumericColumn,
  type RequiredColumn,
} from './index.js';

/** The column table of the COYO-700M dataset card, row by row as it is published. */
const DATASET_CARD: readonly (readonly [string, CoyoLogicalType])[] = [
  ['id', 'int64'],
  ['url', 'string'],
  ['text', 'string'],
  ['width, height', 'int32'],
  ['image_phash', 'string'],
  ['text_length, word_count, num_tokens_bert, num_tokens_gpt', 'int32'],
  ['num_faces', 'int32'],
  ['clip_similarity_vitb32, clip_similarity_vitl14', 'float32'],
  ['nsfw_score_opennsfw2, nsfw_score_gantman', 'float32'],
  ['watermark_score', 'float32'],
  ['aesthetic_score_laion_v2', 'float32'],
];

const cardColumns = DATASET_CARD.flatMap(([names, type]) => names.split(', ').map((name) => ({ name, type })));

/** True when `list` holds its members in the order they have in the dataset. */
function inDatasetOrder(list: readonly string[]): boolean {
  const positions = list.map((c) => COYO_COLUMNS.indexOf(c as CoyoColumn));
  return positions.every((p, i) => p >= 0 && (i === 0 || p > (positions[i - 1] ?? -1)));
}

describe('COYO_SCHEMA', () => {
  it("declares the dataset card's 17 columns in its order with its types", () => {
    expect(cardColumns).toHaveLength(17);
    expect(COYO_SCHEMA.map(({ name, type }) => ({ name, type }))).toEqual(cardColumns);
  });

  it('lets every column but id hold NULL', () => {
    expect(COYO_SCHEMA.filter((c) => !c.nullable).map((c) => c.name)).toEqual(['id']);
  });

  it('gives every column a one-line meaning', () => {
    for (const { name, meaning } of COYO_SCHEMA) {
      expect(meaning, name).toMatch(/^\S.*\S$/);
      expect(meaning, name).not.toContain('\n');
    }
  });

  it('cannot be changed by a consumer', () => {
    expect(() => (COYO_SCHEMA as unknown as object[]).push({})).toThrow(TypeError);
    expect(() => {
      (COYO_SCHEMA[0] as { nullable: boolean }).nullable = true;
    }).toThrow(TypeError);
    expect(() => (NUMERIC_COLUMNS as string[]).pop()).toThrow(TypeError);
    expect(COYO_SCHEMA[0].nullable).toBe(false);
  });
});

describe('the derived column lists', () => {
  it('names the columns in the order of the schema', () => {
    expect(COYO_COLUMNS).toEqual(COYO_SCHEMA.map((c) => c.name));
    expect(new Set(COYO_COLUMNS).size).toBe(COYO_COLUMNS.length);
  });

  it('split the columns into integer, float and string columns, each in dataset order', () => {
    for (const list of [INTEGER_COLUMNS, FLOAT_COLUMNS, STRING_COLUMNS]) expect(inDatasetOrder(list)).toBe(true);
    expect([...INTEGER_COLUMNS, ...FLOAT_COLUMNS, ...STRING_COLUMNS].sort()).toEqual([...COYO_COLUMNS].sort());
    expect(INTEGER_COLUMNS.map((c) => columnSpec(c).type)).toEqual(INTEGER_COLUMNS.map((c) => (c === 'id' ? 'int64' : 'int32')));
    expect(FLOAT_COLUMNS.every((c) => columnSpec(c).type === 'float32')).toBe(true);
    expect(STRING_COLUMNS.every((c) => columnSpec(c).type === 'string')).toBe(true);
  });

  it('count as numeric exactly the integer and float columns, in dataset order', () => {
    expect(inDatasetOrder(NUMERIC_COLUMNS)).toBe(true);
    expect([...NUMERIC_COLUMNS].sort()).toEqual([...INTEGER_COLUMNS, ...FLOAT_COLUMNS].sort());
  });

  it('list as nullable exactly the columns declared nullable, in dataset order', () => {
    expect(NULLABLE_COLUMNS).toEqual(COYO_SCHEMA.filter((c) => c.nullable).map((c) => c.name));
    expect(COYO_COLUMNS.filter(isNullableColumn)).toEqual(NULLABLE_COLUMNS);
  });
});

describe('STORAGE_ORDER', () => {
  it('stores every column exactly once', () => {
    expect(STORAGE_ORDER).toHaveLength(COYO_COLUMNS.length);
    expect([...STORAGE_ORDER].sort()).toEqual([...COYO_COLUMNS].sort());
  });

  it('puts the id first, then the other numeric columns in dataset order, then the strings', () => {
    expect(STORAGE_ORDER[0]).toBe('id');
    expect(STORAGE_ORDER.slice(0, NUMERIC_COLUMNS.length)).toEqual(NUMERIC_COLUMNS);
    expect(STORAGE_ORDER.slice(NUMERIC_COLUMNS.length).every((c) => columnSpec(c).type === 'string')).toBe(true);
  });
});

describe('isCoyoColumn', () => {
  it('accepts every column name', () => {
    expect(COYO_COLUMNS.every((c) => isCoyoColumn(c))).toBe(true);
  });

  it('refuses names outside the schema, inherited object keys included', () => {
    for (const name of ['labels', 'ID', '', 'constructor', 'toString', '__proto__']) expect(isCoyoColumn(name), name).toBe(false);
  });
});

describe('columnSpec', () => {
  it('returns the declaration of a column', () => {
    expect(columnSpec('watermark_score')).toBe(COYO_SCHEMA.find((c) => c.name === 'watermark_score'));
  });

  it('throws a bug message for a name that escaped the type system', () => {
    expect(() => columnSpec('labels' as CoyoColumn)).toThrow('bug: labels is not a COYO column');
  });
});

describe('the column types', () => {
  it('derive unions and row shapes from the table (asserted by `pnpm typecheck`)', () => {
    expectTypeOf<RequiredColumn>().toEqualTypeOf<'id'>();
    expectTypeOf<NullableColumn>().toEqualTypeOf<Exclude<CoyoColumn, 'id'>>();
    expectTypeOf<LogicalTypeOf<'width'>>().toEqualTypeOf<'int32'>();
    expectTypeOf<'image_phash'>().not.toExtend<NumericColumn>();
    expectTypeOf<CoyoRowOf<bigint>['id']>().toEqualTypeOf<bigint>();
    expectTypeOf<CoyoRowOf<bigint>['url']>().toEqualTypeOf<string>();
    expectTypeOf<NullableRowOf<number>['id']>().toEqualTypeOf<number>();
    expectTypeOf<NullableRowOf<number>['aesthetic_score_laion_v2']>().toEqualTypeOf<number | null>();
    expectTypeOf<keyof NullableRowOf<number>>().toEqualTypeOf<CoyoColumn>();
  });
});
