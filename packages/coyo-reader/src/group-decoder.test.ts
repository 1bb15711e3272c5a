import { parquetMetadata, parquetRead, type SchemaElement } from 'hyparquet';
import { DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import { describe, expect, it } from 'vitest';
import { fixtureObjects, nullsFixtureObjects } from '../testing';
import { predicateValue } from './filter';
import { decodeChunk, decodeFlatChunk } from './group-decoder';

/** Every shard of a fixture bucket, as an ArrayBuffer of its own. */
function shards(objects: Map<string, Uint8Array>): ArrayBuffer[] {
  return [...objects]
    .filter(([key]) => key.endsWith('.parquet'))
    .map(([, bytes]) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

/** One column of one row group as parquetRead decodes it (the reference). */
async function reference(file: ArrayBuffer, rowStart: number, rowEnd: number, column: string): Promise<unknown[]> {
  const out: unknown[] = [];
  await parquetRead({
    file,
    columns: [column],
    rowStart,
    rowEnd,
    onChunk({ columnData, rowStart: at }) {
      for (let i = 0; i < columnData.length; i++) if (at + i >= rowStart && at + i < rowEnd) out[at + i - rowStart] = columnData[i];
    },
  });
  return out;
}

describe('decodeFlatChunk', () => {
  it('decodes every column chunk of the fixtures (NULLs, dictionary pages, strings) as parquetRead does', async () => {
    let chunks = 0;
    let nulls = 0;
    for (const file of [...shards(fixtureObjects()), ...shards(nullsFixtureObjects())]) {
      const metadata = parquetMetadata(file);
      let rowStart = 0;
      for (const group of metadata.row_groups) {
        const rows = Number(group.num_rows);
        for (const chunk of group.columns) {
          const meta = chunk.meta_data;
          if (meta === undefined) throw new Error('a fixture chunk without metadata');
          const [column = ''] = meta.path_in_schema;
          const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
          const bytes = new Uint8Array(file, start, Number(meta.total_compressed_size));
          const decoded = decodeFlatChunk(metadata.schema, column, meta.codec, DEFAULT_PARSERS, bytes, rows);
          expect(decoded, `${column} of a group at row ${rowStart}`).toEqual(await reference(file, rowStart, rowStart + rows, column));
          nulls += decoded?.filter((v) => v === null).length ?? 0;
          // Read value by value from the last row back (a page decoded only as far as asked, then on),
          // and as numbers: the same values. Plain loops: toEqual per chunk is what made this test slow.
          const lazy = decodeChunk(metadata.schema, column, meta.codec, DEFAULT_PARSERS, bytes, rows);
          const numbers = lazy?.numbers();
          const differing: number[] = [];
          for (let i = rows - 1; i >= 0; i--) {
            const want = decoded?.[i];
            const got = lazy?.value(i);
            const same = want instanceof Uint8Array ? got instanceof Uint8Array && got.every((b, k) => b === want[k]) : Object.is(got, want);
            if (!same || !Object.is(numbers?.[i], predicateValue(want))) differing.push(i);
          }
          expect(differing, `${column} of a group at row ${rowStart}`).toEqual([]);
          expect(lazy?.nulls).toBe(decoded?.filter((v) => v === null).length);
          chunks++;
        }
        rowStart += rows;
      }
    }
    // The comparison covered real NULLs and many chunks, not an empty case.
    expect(chunks).toBeGreaterThan(100);
    expect(nulls).toBeGreaterThan(0);
    // Every chunk of two fixtures decoded three ways: well under a second alone, seconds on a loaded machine.
  }, 30_000);

  it('declines a column that is not flat, so the caller falls back to parquetRead', () => {
    const nested: SchemaElement[] = [
      { name: 'root', num_children: 1 },
      { name: 'tags', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
    ];
    expect(decodeFlatChunk(nested, 'tags', 'UNCOMPRESSED', DEFAULT_PARSERS, new Uint8Array(0), 0)).toBeUndefined();
  });

  it('refuses a chunk that holds fewer rows than its row group', () => {
    const [file] = shards(fixtureObjects());
    if (file === undefined) throw new Error('no fixture shard');
    const metadata = parquetMetadata(file);
    const meta = metadata.row_groups[0]?.columns[0]?.meta_data;
    if (meta === undefined) throw new Error('no chunk');
    const bytes = new Uint8Array(file, Number(meta.data_page_offset), Number(meta.total_compressed_size));
    const rows = Number(metadata.row_groups[0]?.num_rows ?? 0);
    expect(() => decodeFlatChunk(metadata.schema, 'id', meta.codec, DEFAULT_PARSERS, bytes, rows + 1)).toThrow(/holds \d+ rows, the row group \d+/);
  });
});
