/**
 * Decodes the column chunks of one row group from the bytes of the range read that fetched it, page by
 * page. What it leaves out of hyparquet's `parquetRead` is what a flat COYO column does not need and
 * what cost most of a small group's decoding: a read plan per call, a schema tree per call, the
 * asynchronous column machinery and the general Dremel assembly of nested lists. A flat OPTIONAL
 * column only needs its NULLs put back where its definition levels say.
 *
 * A chunk is not turned into an array of values: a look-up serves a few rows of a group of hundreds,
 * a filter or export only its matches. A page's definition levels say which row holds which value;
 * a value is read from the page bytes when asked for — PLAIN fixed-width values at their offset, PLAIN
 * byte arrays at the start found by walking their lengths, dictionary indices through the dictionary —
 * and a snappy page is decompressed only as far as the last byte read ({@link SnappyBlock}). Page kinds and encodings outside that
 * (delta, byte-stream-split, converted types) are decoded whole with hyparquet's own page readers.
 * Every column COYO writes is flat; for a column that is not ({@link readsFlat}) the caller reads the
 * group through `parquetRead` instead.
 */
import type { CompressionCodec, DecodedArray, Encoding, PageHeader, ParquetParsers, ParquetType, SchemaElement } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { convert, convertWithDictionary } from 'hyparquet/src/convert.js';
import { decompressPage, readDataPage, readDataPageV2 } from 'hyparquet/src/datapage.js';
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import { readPlain } from 'hyparquet/src/plain.js';
import { getMaxDefinitionLevel, getSchemaPath, isFlatColumn } from 'hyparquet/src/schema.js';
import { slabFloat64, slabInt32 } from './slab';
import { SnappyBlock } from './snappy';

/** What hyparquet's page readers take to decode one column (its `ColumnDecoder`). */
type ColumnDecoder = Parameters<typeof readDataPageV2>[2];

/** How a flat column's values are read from a page. */
type ValueKind = 'int32' | 'int64' | 'float' | 'double' | 'string' | 'other';

/** A flat column's decoder, or null when the column is not flat (nested, repeated). */
type FlatDecoder = { decoder: ColumnDecoder; maxDefinitionLevel: number; kind: ValueKind } | null;

/** One column of one row group, read value by value. */
export interface ChunkColumn {
  readonly rows: number;
  /** Row `i`'s value as hyparquet decodes it (int64 as bigint, strings through the parsers), NULL as `null`. */
  value(i: number): unknown;
  /** Every row's value as a number for comparisons: NaN for NULL and for anything that is not numeric. */
  numbers(): Float64Array;
  /** Rows that are NULL, from the definition levels alone (no value decoded). */
  readonly nulls: number;
}


/**
 * How values of `element` are read without hyparquet's `convert`: the physical types whose converted
 * and logical types (none, signed integers, UTF-8 strings) `convert` leaves as they are or only passes
 * through `stringFromBytes`; anything else is 'other' and goes through `convert`.
 */
function valueKind(element: SchemaElement): ValueKind {
  const ctype = element.converted_type;
  const ltype = element.logical_type;
  const signedInteger = ltype === undefined || (ltype.type === 'INTEGER' && ltype.isSigned);
  switch (element.type) {
    case 'INT32':
      return (ctype === undefined || ctype === 'INT_32') && signedInteger ? 'int32' : 'other';
    case 'INT64':
      return (ctype === undefined || ctype === 'INT_64') && signedInteger ? 'int64' : 'other';
    case 'FLOAT':
      return ctype === undefined && ltype === undefined ? 'float' : 'other';
    case 'DOUBLE':
      return ctype === undefined && ltype === undefined ? 'double' : 'other';
    case 'BYTE_ARRAY':
      // convert() reads BYTE_ARRAY as UTF-8 unless a converted or logical type says otherwise.
      return (ctype === undefined || ctype === 'UTF8') && (ltype === undefined || ltype.type === 'STRING') ? 'string' : 'other';
    default:
      return 'other';
  }
}

/**
 * Decoders per schema (one schema object per shard index), parsers, codec and column: built once, not
 * per read; nested maps, so a look-up builds no key.
 */
const decoders = new WeakMap<readonly SchemaElement[], WeakMap<ParquetParsers, Map<CompressionCodec, Map<string, FlatDecoder>>>>();

function decoderCache(schema: readonly SchemaElement[], codec: CompressionCodec, parsers: ParquetParsers): Map<string, FlatDecoder> {
  let byParsers = decoders.get(schema);
  if (byParsers === undefined) {
    byParsers = new WeakMap();
    decoders.set(schema, byParsers);
  }
  let byCodec = byParsers.get(parsers);
  if (byCodec === undefined) {
    byCodec = new Map();
    byParsers.set(parsers, byCodec);
  }
  let byColumn = byCodec.get(codec);
  if (byColumn === undefined) {
    byColumn = new Map();
    byCodec.set(codec, byColumn);
  }
  return byColumn;
}

function flatDecoder(schema: readonly SchemaElement[], column: string, codec: CompressionCodec, parsers: ParquetParsers): FlatDecoder {
  const cache = decoderCache(schema, codec, parsers);
  const cached = cache.get(column);
  if (cached !== undefined) return cached;
  const schemaPath = getSchemaPath([...schema], [column]);
  const element = schemaPath.at(-1)?.element;
  let made: FlatDecoder = null;
  if (element?.type !== undefined && isFlatColumn(schemaPath)) {
    made = {
      decoder: { pathInSchema: [column], type: element.type, element, schemaPath, codec, parsers },
      maxDefinitionLevel: getMaxDefinitionLevel(schemaPath),
      kind: valueKind(element),
    };
  }
  cache.set(column, made);
  return made;
}

/** Whether {@link decodeChunk} reads this column of this schema (a flat column: not nested, not repeated). */
export function readsFlat(schema: readonly SchemaElement[], column: string, codec: CompressionCodec, parsers: ParquetParsers): boolean {
  return flatDecoder(schema, column, codec, parsers) !== null;
}

/** Bits of a definition level that can reach `max`. */
function levelWidth(max: number): number {
  return 32 - Math.clz32(max);
}

const TWO_32 = 2 ** 32;

/** How a page's values are held. */
const enum Held {
  Int32,
  Int64,
  Float,
  Double,
  /** PLAIN byte arrays: `bytes` with each value's start in `starts` (a 4-byte length before each). */
  ByteArray,
  /** Dictionary indices (`indices`) into `array`. */
  Dictionary,
  /** Values decoded whole into `array`. */
  Decoded,
}

/** A number for comparisons from a decoded value, as `predicateValue` makes one. */
function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return Number.NaN;
}

/**
 * Bytes of a page's values: all there (`source` null), or a snappy block decoded up to what has been
 * read so far.
 */
interface ValueBytes {
  readonly bytes: Uint8Array;
  readonly source: SnappyBlock | null;
}

/**
 * One data page: its rows' value positions and its values, read where they lie. One class for every
 * encoding (a switch, not a closure per page), so creating a page allocates no functions.
 */
class Page {
  private readonly source: SnappyBlock | null;
  private readonly view: DataView | null;
  /** Byte arrays: start of each value found so far (`walked` of them); `next` is where the next length lies. */
  private readonly starts: Int32Array | null;
  private walked = 0;
  private next = 0;

  constructor(
    /** First row of the page within the chunk. */
    readonly rowStart: number,
    readonly rows: number,
    /** Value position of each row, -1 for NULL; null when every row has a value (position = row). */
    readonly positions: Int32Array | null,
    private readonly held: Held,
    /** Values the page holds (its rows less its NULLs). */
    readonly count: number,
    values: ValueBytes | null,
    private readonly array: DecodedArray | null,
    private readonly indices: ArrayLike<number> | null,
    private readonly parsers: ParquetParsers | null,
  ) {
    this.source = values?.source ?? null;
    this.view = values === null ? null : new DataView(values.bytes.buffer, values.bytes.byteOffset, values.bytes.byteLength);
    this.starts = held === Held.ByteArray ? slabInt32(count + 1) : null;
  }

  /** Makes the first `n` value bytes readable. */
  private need(n: number): void {
    const source = this.source;
    if (source !== null && source.decoded < n) source.ensure(n);
  }

  /** Finds the starts of byte arrays 0…k+1, decoding as far as their lengths. */
  private walk(k: number): void {
    const starts = this.starts as Int32Array;
    const view = this.view as DataView;
    while (this.walked <= k + 1 && this.walked <= this.count) {
      const at = this.next;
      if (this.walked === this.count) {
        starts[this.walked++] = at + 4;
        break;
      }
      if (at + 4 > view.byteLength) throw new Error(`a PLAIN page ends inside value ${this.walked} of ${this.count}`);
      this.need(at + 4);
      starts[this.walked++] = at + 4;
      this.next = at + 4 + view.getUint32(at, true);
      if (this.next > view.byteLength) throw new Error(`a PLAIN page ends inside value ${this.walked - 1} of ${this.count}`);
    }
  }

  /** Value `k` of the page (`k` a position). */
  value(k: number): unknown {
    const view = this.view as DataView;
    switch (this.held) {
      case Held.Int32:
      case Held.Float:
      case Held.Double:
        // A number already: read as {@link number} reads it.
        return this.number(k);
      case Held.Int64:
        this.need(k * 8 + 8);
        return view.getBigInt64(k * 8, true);
      case Held.ByteArray: {
        this.walk(k);
        const starts = this.starts as Int32Array;
        const start = starts[k] as number;
        const end = (starts[k + 1] as number) - 4;
        this.need(end);
        return (this.parsers as ParquetParsers).stringFromBytes(new Uint8Array(view.buffer, view.byteOffset + start, end - start));
      }
      case Held.Dictionary:
        return this.entry(k);
      case Held.Decoded:
        return (this.array as DecodedArray)[k];
    }
  }

  /** Value `k` as a number for comparisons ({@link numberOf}), without making a bigint for an int64. */
  number(k: number): number {
    const view = this.view as DataView;
    switch (this.held) {
      case Held.Int32:
        this.need(k * 4 + 4);
        return view.getInt32(k * 4, true);
      case Held.Int64:
        this.need(k * 8 + 8);
        // Exact sum of two exact parts, rounded once: the same number as Number(bigint).
        return view.getInt32(k * 8 + 4, true) * TWO_32 + view.getUint32(k * 8, true);
      case Held.Float:
        this.need(k * 4 + 4);
        return view.getFloat32(k * 4, true);
      case Held.Double:
        this.need(k * 8 + 8);
        return view.getFloat64(k * 8, true);
      case Held.ByteArray:
        return Number.NaN;
      case Held.Dictionary:
        return numberOf(this.entry(k));
      case Held.Decoded:
        return numberOf((this.array as DecodedArray)[k]);
    }
  }

  private entry(k: number): unknown {
    const dictionary = this.array as DecodedArray;
    const index = (this.indices as ArrayLike<number>)[k] as number;
    if (!(index < dictionary.length)) throw new Error(`dictionary index ${index} past a dictionary of ${dictionary.length}`);
    return dictionary[index];
  }
}

const FIXED_HELD = { int32: Held.Int32, int64: Held.Int64, float: Held.Float, double: Held.Double } as const;
const FIXED_WIDTH = { int32: 4, int64: 8, float: 4, double: 8 } as const;

/** PLAIN fixed-width values. */
function fixedPage(rowStart: number, rows: number, positions: Int32Array | null, kind: keyof typeof FIXED_HELD, values: ValueBytes, count: number): Page {
  if (values.bytes.byteLength < count * FIXED_WIDTH[kind]) throw new Error(`a PLAIN page holds ${values.bytes.byteLength} bytes for ${count} ${kind} values`);
  return new Page(rowStart, rows, positions, FIXED_HELD[kind], count, values, null, null, null);
}

/** PLAIN byte arrays: each a 4-byte length and its bytes, found by walking the lengths as far as a value asked for. */
function byteArrayPage(rowStart: number, rows: number, positions: Int32Array | null, values: ValueBytes, count: number, parsers: ParquetParsers): Page {
  return new Page(rowStart, rows, positions, Held.ByteArray, count, values, null, null, parsers);
}

/** Values already decoded into an array (a page hyparquet decoded whole). */
function arrayPage(rowStart: number, rows: number, positions: Int32Array | null, values: DecodedArray): Page {
  return new Page(rowStart, rows, positions, Held.Decoded, values.length, null, values, null, null);
}

/** Dictionary indices, resolved when a value is asked for. */
function dictionaryPage(rowStart: number, rows: number, positions: Int32Array | null, indices: ArrayLike<number>, dictionary: DecodedArray): Page {
  return new Page(rowStart, rows, positions, Held.Dictionary, indices.length, null, dictionary, indices, null);
}

/**
 * Value positions of a page's rows from its definition levels (`levels`, one per row), or null when
 * every row is defined. Returns the positions and the number of values.
 */
function positionsOf(levels: DecodedArray, max: number): { positions: Int32Array | null; count: number } {
  let count = 0;
  for (let i = 0; i < levels.length; i++) if (levels[i] === max) count++;
  if (count === levels.length) return { positions: null, count };
  const positions = slabInt32(levels.length);
  let k = 0;
  for (let i = 0; i < levels.length; i++) positions[i] = levels[i] === max ? k++ : -1;
  return { positions, count };
}

/** A page's values from its value bytes (after levels, decompressed), or undefined for an encoding read whole. */
function valuesPage(
  flat: NonNullable<FlatDecoder>,
  encoding: Encoding,
  rowStart: number,
  rows: number,
  positions: Int32Array | null,
  count: number,
  values: ValueBytes,
  dictionary: DecodedArray | undefined,
): Page | undefined {
  const { kind, decoder } = flat;
  if (encoding === 'PLAIN') {
    if (kind === 'int32' || kind === 'int64' || kind === 'float' || kind === 'double') return fixedPage(rowStart, rows, positions, kind, values, count);
    if (kind === 'string') return byteArrayPage(rowStart, rows, positions, values, count, decoder.parsers);
    return undefined;
  }
  if ((encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY') && dictionary !== undefined && kind !== 'other') {
    if (count === 0) return arrayPage(rowStart, rows, positions, []);
    // The indices are read whole: a small run-length section.
    values.source?.ensure(values.bytes.byteLength);
    const bytes = values.bytes;
    const width = bytes[0] as number;
    const indices = new Array<number>(count);
    if (width === 0) indices.fill(0);
    else readRleBitPackedHybrid({ view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 1 }, width, indices, bytes.byteLength - 1);
    return dictionaryPage(rowStart, rows, positions, indices, dictionary);
  }
  return undefined;
}

function decompress(flat: NonNullable<FlatDecoder>, bytes: Uint8Array, size: number): Uint8Array {
  return decompressPage(bytes, size, flat.decoder.codec, flat.decoder.compressors);
}

/** One data page read as hyparquet reads it (levels, values, conversion): for what {@link valuesPage} does not read. */
function wholePage(flat: NonNullable<FlatDecoder>, header: PageHeader, page: Uint8Array, rowStart: number, dictionary: DecodedArray | undefined, column: string): Page {
  const { decoder, maxDefinitionLevel } = flat;
  let values: DecodedArray;
  let levels: number[] | undefined;
  let encoding: Encoding;
  let rows: number;
  if (header.type === 'DATA_PAGE_V2' && header.data_page_header_v2 !== undefined) {
    const read = readDataPageV2(page, header, decoder);
    values = read.dataPage;
    levels = read.definitionLevels;
    encoding = header.data_page_header_v2.encoding;
    rows = header.data_page_header_v2.num_values;
  } else if (header.type === 'DATA_PAGE' && header.data_page_header !== undefined) {
    const read = readDataPage(decompress(flat, page, header.uncompressed_page_size), header.data_page_header, decoder);
    values = read.dataPage;
    levels = read.definitionLevels;
    encoding = header.data_page_header.encoding;
    rows = header.data_page_header.num_values;
  } else {
    throw new Error(`column ${column}: a ${header.type} page where data pages were expected`);
  }
  const converted = convertWithDictionary(values, dictionary, encoding, decoder);
  if (levels === undefined || levels.length === 0 || maxDefinitionLevel === 0) {
    if (converted.length !== rows) throw new Error(`column ${column}: a page holds ${converted.length} values for ${rows} rows`);
    return arrayPage(rowStart, rows, null, converted);
  }
  const { positions, count } = positionsOf(levels, maxDefinitionLevel);
  if (count !== converted.length) throw new Error(`column ${column}: a page holds ${converted.length} values for ${count} defined rows`);
  return arrayPage(rowStart, levels.length, positions, converted);
}

/** One data page: levels and values located, values read on demand where the encoding allows. */
function dataPage(flat: NonNullable<FlatDecoder>, header: PageHeader, page: Uint8Array, rowStart: number, dictionary: DecodedArray | undefined, column: string): Page {
  const { maxDefinitionLevel } = flat;
  const v2 = header.type === 'DATA_PAGE_V2' ? header.data_page_header_v2 : undefined;
  if (v2 !== undefined) {
    if (v2.repetition_levels_byte_length !== 0) return wholePage(flat, header, page, rowStart, dictionary, column);
    const rows = v2.num_values;
    let positions: Int32Array | null = null;
    let count = rows;
    // A v2 header counts its NULLs (hyparquet sizes the values by it too): with none, the levels say nothing.
    if (maxDefinitionLevel > 0 && v2.num_nulls !== 0) {
      const levels = new Array<number>(rows);
      readRleBitPackedHybrid({ view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 }, levelWidth(maxDefinitionLevel), levels, v2.definition_levels_byte_length);
      ({ positions, count } = positionsOf(levels, maxDefinitionLevel));
      if (rows - count !== v2.num_nulls) throw new Error(`column ${column}: a page's levels hold ${rows - count} NULLs, its header ${v2.num_nulls}`);
    }
    const levelBytes = v2.definition_levels_byte_length;
    let values: ValueBytes = { bytes: page.subarray(levelBytes), source: null };
    const size = header.uncompressed_page_size - levelBytes;
    if (v2.is_compressed !== false && size > 0) {
      if (flat.decoder.codec === 'SNAPPY') {
        const source = new SnappyBlock(values.bytes, size);
        values = { bytes: source.output, source };
      } else {
        values = { bytes: decompress(flat, values.bytes, size), source: null };
      }
    }
    return valuesPage(flat, v2.encoding, rowStart, rows, positions, count, values, dictionary) ?? wholePage(flat, header, page, rowStart, dictionary, column);
  }
  const v1 = header.type === 'DATA_PAGE' ? header.data_page_header : undefined;
  if (v1 !== undefined && (maxDefinitionLevel === 0 || v1.definition_level_encoding === 'RLE')) {
    const plain = decompress(flat, page, header.uncompressed_page_size);
    const rows = v1.num_values;
    let positions: Int32Array | null = null;
    let count = rows;
    const reader = { view: new DataView(plain.buffer, plain.byteOffset, plain.byteLength), offset: 0 };
    if (maxDefinitionLevel > 0) {
      const levels = new Array<number>(rows);
      // A v1 page's levels start with their length in 4 bytes.
      readRleBitPackedHybrid(reader, levelWidth(maxDefinitionLevel), levels);
      ({ positions, count } = positionsOf(levels, maxDefinitionLevel));
    }
    const page1 = valuesPage(flat, v1.encoding, rowStart, rows, positions, count, { bytes: plain.subarray(reader.offset), source: null }, dictionary);
    if (page1 !== undefined) return page1;
  }
  return wholePage(flat, header, page, rowStart, dictionary, column);
}

/** A chunk's pages, read row by row. */
class Chunk implements ChunkColumn {
  private asNumbers: Float64Array | undefined;
  readonly nulls: number;

  constructor(
    readonly rows: number,
    private readonly pages: readonly Page[],
  ) {
    let nulls = 0;
    for (const page of pages) nulls += page.rows - page.count;
    this.nulls = nulls;
  }

  private pageOf(i: number): Page {
    const pages = this.pages;
    for (let p = 0; p < pages.length; p++) {
      const page = pages[p] as Page;
      if (i < page.rowStart + page.rows) return page;
    }
    throw new Error(`bug: row ${i} past a chunk of ${this.rows} rows`);
  }

  value(i: number): unknown {
    if (!(i >= 0 && i < this.rows)) return undefined;
    const page = this.pageOf(i);
    const local = i - page.rowStart;
    const k = page.positions === null ? local : (page.positions[local] as number);
    return k < 0 ? null : page.value(k);
  }

  numbers(): Float64Array {
    if (this.asNumbers !== undefined) return this.asNumbers;
    const out = slabFloat64(this.rows);
    for (const page of this.pages) {
      const positions = page.positions;
      for (let local = 0; local < page.rows; local++) {
        const k = positions === null ? local : (positions[local] as number);
        out[page.rowStart + local] = k < 0 ? Number.NaN : page.number(k);
      }
    }
    this.asNumbers = out;
    return out;
  }
}

/**
 * One column chunk, read value by value: `bytes` is the chunk (every page of the column in this row
 * group). Returns undefined for a column that is not flat ({@link readsFlat}); throws when a page is of
 * a kind a column chunk does not hold or the pages do not hold `rows` rows.
 */
export function decodeChunk(
  schema: readonly SchemaElement[],
  column: string,
  codec: CompressionCodec,
  parsers: ParquetParsers,
  bytes: Uint8Array,
  rows: number,
): ChunkColumn | undefined {
  const flat = flatDecoder(schema, column, codec, parsers);
  if (flat === null) return undefined;
  const { decoder } = flat;
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
  const pages: Page[] = [];
  let read = 0;
  let dictionary: DecodedArray | undefined;
  while (read < rows && reader.offset < bytes.byteLength) {
    const header = parquetHeader(reader);
    const page = bytes.subarray(reader.offset, reader.offset + header.compressed_page_size);
    reader.offset += header.compressed_page_size;
    if (header.type === 'DICTIONARY_PAGE' && header.dictionary_page_header !== undefined) {
      const plain = decompress(flat, page, header.uncompressed_page_size);
      const dictionaryReader = { view: new DataView(plain.buffer, plain.byteOffset, plain.byteLength), offset: 0 };
      const type: ParquetType = decoder.type;
      dictionary = convert(readPlain(dictionaryReader, type, header.dictionary_page_header.num_values, decoder.element.type_length), decoder);
      continue;
    }
    const made = dataPage(flat, header, page, read, dictionary, column);
    pages.push(made);
    read += made.rows;
  }
  if (read !== rows) throw new Error(`column ${column}: the chunk holds ${read} rows, the row group ${rows}`);
  return new Chunk(rows, pages);
}

/**
 * One column chunk's values, row by row, NULLs as `null` ({@link decodeChunk}, every value read).
 * Returns undefined for a column that is not flat.
 */
export function decodeFlatChunk(
  schema: readonly SchemaElement[],
  column: string,
  codec: CompressionCodec,
  parsers: ParquetParsers,
  bytes: Uint8Array,
  rows: number,
): unknown[] | undefined {
  const chunk = decodeChunk(schema, column, codec, parsers, bytes, rows);
  if (chunk === undefined) return undefined;
  const out = new Array<unknown>(rows);
  for (let i = 0; i < rows; i++) out[i] = chunk.value(i);
  return out;
}
