/**
 * Decodes the column chunks of one row group from the bytes of the range read that fetched it, page by
 * page, with hyparquet's own page readers (`hyparquet/src/*`: page headers, snappy, PLAIN and
 * dictionary values, v1 and v2 data pages, definition levels). What it leaves out of `parquetRead` is
 * what a flat COYO column does not need and what cost most of a small group's decoding: a read plan per
 * call, a schema tree per call, the asynchronous column machinery and the general Dremel assembly of
 * nested lists; a flat OPTIONAL column only needs its NULLs put back where its definition levels say.
 * Every column COYO writes is flat; for a column that is not ({@link readsFlat}) the caller reads the
 * group through `parquetRead` instead.
 */
import type { CompressionCodec, DecodedArray, ParquetParsers, SchemaElement } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { convert, convertWithDictionary } from 'hyparquet/src/convert.js';
import { decompressPage, readDataPage, readDataPageV2 } from 'hyparquet/src/datapage.js';
import { readPlain } from 'hyparquet/src/plain.js';
import { getMaxDefinitionLevel, getSchemaPath, isFlatColumn } from 'hyparquet/src/schema.js';

/** What hyparquet's page readers take to decode one column (its `ColumnDecoder`). */
type ColumnDecoder = Parameters<typeof readDataPageV2>[2];

/** A flat column's decoder, or null when the column is not flat (nested, repeated). */
type FlatDecoder = { decoder: ColumnDecoder; maxDefinitionLevel: number } | null;

/** Decoders per schema (one schema object per shard index) and column: built once, not per read. */
const decoders = new WeakMap<readonly SchemaElement[], Map<string, FlatDecoder>>();

function flatDecoder(schema: readonly SchemaElement[], column: string, codec: CompressionCodec, parsers: ParquetParsers): FlatDecoder {
  let bySchema = decoders.get(schema);
  if (bySchema === undefined) {
    bySchema = new Map();
    decoders.set(schema, bySchema);
  }
  const key = `${column}\u0000${codec}`;
  const cached = bySchema.get(key);
  if (cached !== undefined) return cached;
  const schemaPath = getSchemaPath([...schema], [column]);
  const element = schemaPath.at(-1)?.element;
  let made: FlatDecoder = null;
  if (element?.type !== undefined && isFlatColumn(schemaPath)) {
    made = {
      decoder: { pathInSchema: [column], type: element.type, element, schemaPath, codec, parsers },
      maxDefinitionLevel: getMaxDefinitionLevel(schemaPath),
    };
  }
  bySchema.set(key, made);
  return made;
}

/** Whether {@link decodeFlatChunk} reads this column of this schema (a flat column: not nested, not repeated). */
export function readsFlat(schema: readonly SchemaElement[], column: string, codec: CompressionCodec, parsers: ParquetParsers): boolean {
  return flatDecoder(schema, column, codec, parsers) !== null;
}

/**
 * One column chunk's values, row by row, NULLs as `null`: `bytes` is the chunk (every page of the
 * column in this row group). Returns undefined for a column that is not flat ({@link readsFlat});
 * throws when a page is of a kind a column chunk does not hold or the pages do not hold `rows` rows.
 */
export function decodeFlatChunk(
  schema: readonly SchemaElement[],
  column: string,
  codec: CompressionCodec,
  parsers: ParquetParsers,
  bytes: Uint8Array,
  rows: number,
): unknown[] | undefined {
  const flat = flatDecoder(schema, column, codec, parsers);
  if (flat === null) return undefined;
  const { decoder, maxDefinitionLevel } = flat;
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  const out: unknown[] = [];
  let dictionary: DecodedArray | undefined;
  while (out.length < rows && reader.offset < bytes.byteLength) {
    const header = parquetHeader(reader);
    const page = bytes.subarray(reader.offset, reader.offset + header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    let values: DecodedArray;
    let levels: number[] | undefined;
    let encoding: string;
    if (header.type === 'DICTIONARY_PAGE' && header.dictionary_page_header !== undefined) {
      const plain = decompressPage(page, header.uncompressed_page_size, decoder.codec, decoder.compressors);
      const dictionaryReader = { view: new DataView(plain.buffer, plain.byteOffset, plain.byteLength), offset: 0 };
      dictionary = convert(readPlain(dictionaryReader, decoder.type, header.dictionary_page_header.num_values, decoder.element.type_length), decoder);
      continue;
    } else if (header.type === 'DATA_PAGE_V2' && header.data_page_header_v2 !== undefined) {
      const read = readDataPageV2(page, header, decoder);
      values = read.dataPage;
      levels = read.definitionLevels;
      encoding = header.data_page_header_v2.encoding;
    } else if (header.type === 'DATA_PAGE' && header.data_page_header !== undefined) {
      const plain = decompressPage(page, header.uncompressed_page_size, decoder.codec, decoder.compressors);
      const read = readDataPage(plain, header.data_page_header, decoder);
      values = read.dataPage;
      levels = read.definitionLevels;
      encoding = header.data_page_header.encoding;
    } else {
      throw new Error(`column ${column}: a ${header.type} page where data pages were expected`);
    }
    const converted = convertWithDictionary(values, dictionary, encoding as Parameters<typeof convertWithDictionary>[2], decoder);
    if (levels === undefined || levels.length === 0 || maxDefinitionLevel === 0) {
      for (let i = 0; i < converted.length; i++) out.push(converted[i]);
    } else {
      let k = 0;
      for (const level of levels) out.push(level === maxDefinitionLevel ? converted[k++] : null);
      if (k !== converted.length) throw new Error(`column ${column}: a page holds ${converted.length} values for ${k} defined rows`);
    }
  }
  if (out.length !== rows) throw new Error(`column ${column}: the chunk holds ${out.length} rows, the row group ${rows}`);
  return out;
}
