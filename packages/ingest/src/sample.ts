/**
 * Writes COYO-schema parquet files (snappy) with value distributions like the real dataset's, so the
 * ingest, the edge reader and the benchmark can run without the 134 GB original. Deterministic from
 * the seed; the one row the dataset card publishes is always included, verbatim.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { COYO_COLUMNS, DATASET_CARD_ROW, type CoyoRowOf } from '@coyo/coyo-schema';
import { Duck } from './duck.js';
import { Random } from './random.js';
import { DUCKDB_COLUMNS, quoteIdent, quoteLiteral } from './schema.js';

/** One COYO row with JS types (id as bigint, as parquet readers return int64), a value in every column. */
export type CoyoRow = CoyoRowOf<bigint>;

/** The row published on the COYO-700M dataset card. */
export const REAL_ROW: Readonly<CoyoRow> = { ...DATASET_CARD_ROW, id: BigInt(DATASET_CARD_ROW.id) };

export interface SampleOptions {
  readonly rows: number;
  readonly outDir: string;
  readonly seed: number;
  /** Number of part files (default: one per 100,000 rows). */
  readonly files?: number;
  /** Stream the rows through DuckDB instead of building them in memory (default: above {@link STREAM_ROWS} rows). */
  readonly stream?: boolean;
  /** Called after each file is written. */
  readonly onFile?: (file: string, rows: number) => void;
}

export interface SampleResult {
  readonly files: string[];
  readonly rows: number;
}

const ADJECTIVES = ['red', 'blue', 'vintage', 'modern', 'rustic', 'beautiful', 'small', 'large', 'wooden', 'golden', 'white', 'black', 'green', 'handmade', 'organic', 'classic', 'elegant', 'cozy', 'bright', 'minimalist', 'colorful', 'old', 'new', 'tropical', 'snowy', 'sunny', 'abstract', 'luxury', 'cute', 'happy'];
const NOUNS = ['house', 'dog', 'cat', 'kitchen', 'garden', 'beach', 'mountain', 'chair', 'table', 'dress', 'shirt', 'car', 'bike', 'coffee', 'cake', 'wedding', 'city', 'river', 'forest', 'flower', 'lamp', 'sofa', 'necklace', 'ring', 'painting', 'poster', 'logo', 'book', 'bottle', 'oil', 'herbs', 'bread', 'salad', 'bridge', 'church', 'street', 'window', 'door', 'bedroom', 'bathroom', 'shoes', 'bag', 'watch', 'phone', 'laptop', 'tree', 'sunset', 'lake', 'horse', 'bird'];
const VERBS = ['standing', 'sitting', 'running', 'decorated', 'infused', 'made', 'painted', 'designed', 'covered', 'surrounded', 'built', 'served', 'printed', 'isolated', 'hanging'];
const PREPOSITIONS = ['with', 'on', 'in', 'near', 'under', 'at', 'for', 'by', 'from', 'over'];
const PLACES = ['Tuscany', 'Paris', 'London', 'Tokyo', 'California', 'Bali', 'Iceland', 'New York', 'Seoul', 'Berlin', 'the Alps', 'Provence'];
const EXTRAS = ['stock photo', 'free download', 'high resolution', 'royalty free image', 'for sale', 'vector illustration', 'HD wallpaper', 'DIY ideas', 'best gift', '2019 collection'];
const SITES = ['cdn.shopify.com', 'i.pinimg.com', 'images.unsplash.com', 'upload.wikimedia.org', 'media.istockphoto.com', 'i.ytimg.com', 'www.example-decor.com', 'blog.travelnotes.net', 'static.photostore.io', 'img.recipes-daily.com'];
const SIZES = [[300, 300], [400, 300], [500, 500], [600, 400], [640, 480], [736, 1104], [800, 600], [1024, 768], [1200, 800], [1280, 720], [1920, 1080], [227, 300], [236, 354], [474, 711]] as const;

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function altText(rng: Random): string {
  const parts: string[] = [];
  const style = rng.int(0, 3);
  if (style === 0) parts.push(capitalise(rng.pick(ADJECTIVES)), rng.pick(NOUNS), rng.pick(VERBS), rng.pick(PREPOSITIONS), rng.pick(NOUNS));
  else if (style === 1) parts.push(capitalise(rng.pick(NOUNS)), rng.pick(PREPOSITIONS), rng.pick(PLACES));
  else if (style === 2) parts.push('A', rng.pick(ADJECTIVES), rng.pick(NOUNS), rng.pick(PREPOSITIONS), 'a', rng.pick(ADJECTIVES), `${rng.pick(NOUNS)},`, rng.pick(EXTRAS));
  else parts.push(capitalise(rng.pick(ADJECTIVES)), rng.pick(ADJECTIVES), rng.pick(NOUNS), '|', rng.pick(EXTRAS));
  // Long tail: some alt texts run on for dozens of words (the dataset keeps 3..256 words).
  const extra = Math.min(240, Math.floor(rng.exponential(rng.chance(0.1) ? 25 : 2)));
  for (let i = 0; i < extra; i++) parts.push(rng.chance(0.3) ? rng.pick(ADJECTIVES) : rng.pick(NOUNS));
  return parts.join(' ');
}

/** Words as COYO counts them: runs of non-blank characters. */
export function countWords(text: string): number {
  return text.split(/\s+/).filter((w) => w.length > 0).length;
}

/**
 * Token counts that follow the text: WordPiece splits long words and punctuation (BERT), byte-pair
 * encoding splits a little more (GPT). An approximation of the real tokenisers, consistent per text.
 */
export function approximateTokens(text: string): { bert: number; gpt: number } {
  let bert = 0;
  let gpt = 0;
  for (const word of text.split(/\s+/)) {
    if (word.length === 0) continue;
    const letters = word.replace(/[^\p{L}\p{N}]/gu, '');
    const punctuation = word.length - letters.length;
    bert += (letters.length > 0 ? 1 + Math.floor(Math.max(0, letters.length - 1) / 8) : 0) + punctuation;
    gpt += (letters.length > 0 ? 1 + Math.floor(letters.length / 6) : 0) + punctuation;
  }
  return { bert, gpt };
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);
}

function imageUrl(rng: Random, text: string, width: number, height: number): string {
  const site = rng.pick(SITES);
  const s = slug(text) || 'image';
  switch (site) {
    case 'cdn.shopify.com':
      return `https://cdn.shopify.com/s/files/1/${rng.int(1000, 9999)}/${rng.int(1000, 9999)}/products/${s}_${rng.hex(8)}_${width}x.jpg?v=${rng.int(1500000000, 1650000000)}`;
    case 'i.pinimg.com': {
      const h = rng.hex(32);
      return `https://i.pinimg.com/${width}x/${h.slice(0, 2)}/${h.slice(2, 4)}/${h.slice(4, 6)}/${h}.jpg`;
    }
    case 'images.unsplash.com':
      return `https://images.unsplash.com/photo-${rng.int(1400000000, 1650000000)}-${rng.hex(12)}?w=${width}&q=80`;
    case 'upload.wikimedia.org':
      return `https://upload.wikimedia.org/wikipedia/commons/thumb/${rng.hex(1)}/${rng.hex(2)}/${s}.jpg/${width}px-${s}.jpg`;
    case 'i.ytimg.com':
      return `https://i.ytimg.com/vi/${rng.hex(11)}/maxresdefault.jpg`;
    default:
      return `https://${site}/wp-content/uploads/${rng.int(2012, 2021)}/${String(rng.int(1, 12)).padStart(2, '0')}/${s}-${width}x${height}.${rng.pick(['jpg', 'jpg', 'jpeg', 'png', 'webp'])}`;
  }
}

function imageSize(rng: Random): [number, number] {
  if (rng.chance(0.5)) {
    const [w, h] = rng.pick(SIZES);
    return rng.chance(0.2) ? [h, w] : [w, h];
  }
  // The dataset dropped images whose shorter side is under 200 px or whose aspect ratio exceeds 3.
  const short = Math.max(200, Math.round(Math.exp(rng.normal(Math.log(480), 0.45))));
  const ratio = Math.min(3, Math.exp(Math.abs(rng.normal(0, 0.35))));
  const long = Math.min(Math.round(short * ratio), short * 3);
  return rng.chance(0.6) ? [long, short] : [short, long];
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** One synthetic row with the given id. Scores are rounded to float32, as the files store them. */
export function syntheticRow(rng: Random, id: bigint): CoyoRow {
  const text = altText(rng);
  const [width, height] = imageSize(rng);
  const tokens = approximateTokens(text);
  const clipB32 = clamp(rng.normal(0.3, 0.04), -1, 1);
  const nsfw = rng.chance(0.95) ? clamp(rng.exponential(0.01), 0, 0.5) : rng.next() * 0.5;
  const facesRoll = rng.next();
  return {
    id,
    url: imageUrl(rng, text, width, height),
    text,
    width,
    height,
    image_phash: rng.hex(16),
    text_length: text.length,
    word_count: countWords(text),
    num_tokens_bert: tokens.bert,
    num_tokens_gpt: tokens.gpt,
    num_faces: facesRoll < 0.75 ? 0 : facesRoll < 0.9 ? 1 : facesRoll < 0.96 ? 2 : rng.int(3, 12),
    clip_similarity_vitb32: Math.fround(clipB32),
    clip_similarity_vitl14: Math.fround(clamp(clipB32 - 0.04 + rng.normal(0, 0.025), -1, 1)),
    nsfw_score_opennsfw2: Math.fround(nsfw),
    nsfw_score_gantman: Math.fround(clamp(nsfw * 2 + rng.exponential(0.02), 0, 1)),
    watermark_score: Math.fround(rng.chance(0.8) ? clamp(rng.exponential(0.08), 0, 1) : 0.3 + rng.next() * 0.7),
    aesthetic_score_laion_v2: Math.fround(clamp(rng.normal(5, 0.8), 1, 10)),
  };
}

/**
 * Sparse, increasing int64 ids in the range the real ones occupy (about 10^11..6·10^12), never equal
 * to the real row's id.
 */
export function sparseIds(rng: Random, count: number): bigint[] {
  const ids: bigint[] = [];
  const span = 6e12;
  const meanGap = Math.max(2, Math.floor(span / Math.max(1, count)));
  let id = 100_000_000_000 + rng.int(0, meanGap);
  for (let i = 0; i < count; i++) {
    id += 1 + Math.floor(rng.exponential(meanGap));
    if (BigInt(id) === REAL_ROW.id) id += 1;
    ids.push(BigInt(id));
  }
  return ids;
}

/** Generates `rows` rows (the real one among them) in shuffled id order. */
export function generateRows(rows: number, seed: number): CoyoRow[] {
  if (!Number.isSafeInteger(rows) || rows < 1) throw new Error(`rows must be a positive integer, got ${rows}`);
  const rng = new Random(seed);
  const out = sparseIds(rng, rows - 1).map((id) => syntheticRow(rng, id));
  out.push({ ...REAL_ROW });
  return rng.shuffle(out);
}

function appendRow(appender: Awaited<ReturnType<Duck['connection']['createAppender']>>, row: CoyoRow, part: number): void {
  appender.appendInteger(part);
  appender.appendBigInt(row.id);
  appender.appendVarchar(row.url);
  appender.appendVarchar(row.text);
  appender.appendInteger(row.width);
  appender.appendInteger(row.height);
  appender.appendVarchar(row.image_phash);
  appender.appendInteger(row.text_length);
  appender.appendInteger(row.word_count);
  appender.appendInteger(row.num_tokens_bert);
  appender.appendInteger(row.num_tokens_gpt);
  appender.appendInteger(row.num_faces);
  appender.appendFloat(row.clip_similarity_vitb32);
  appender.appendFloat(row.clip_similarity_vitl14);
  appender.appendFloat(row.nsfw_score_opennsfw2);
  appender.appendFloat(row.nsfw_score_gantman);
  appender.appendFloat(row.watermark_score);
  appender.appendFloat(row.aesthetic_score_laion_v2);
  appender.endRow();
}

/** Above this many rows the sample is streamed through a DuckDB file instead of held in memory. */
export const STREAM_ROWS = 1_000_000;

/**
 * Writes a sample too big for memory: rows are generated one at a time in id order (the same
 * distributions as {@link generateRows}), each dealt to a random part file, and appended to a DuckDB
 * table that spills to disk next to the output past 1 GB; the table is sorted by part once and each
 * part written in an order shuffled by a hash of the id, so no file is sorted. Memory stays that of
 * DuckDB's buffer pool.
 */
async function writeStreamedSample(options: SampleOptions): Promise<SampleResult> {
  const rng = new Random(options.seed);
  const fileCount = Math.max(1, Math.min(options.files ?? Math.ceil(options.rows / 100_000), options.rows));
  await mkdir(options.outDir, { recursive: true });
  const duck = await Duck.open(':memory:', { threads: 1, memoryLimit: '1GB', tempDirectory: join(options.outDir, '.sample.tmp') });
  try {
    const columns = DUCKDB_COLUMNS.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
    await duck.run(`CREATE TABLE sample (part INTEGER, ${columns})`);
    const appender = await duck.connection.createAppender('sample');
    const synthetic = options.rows - 1;
    const realAt = rng.int(0, synthetic);
    const meanGap = Math.max(2, Math.floor(6e12 / Math.max(1, synthetic)));
    let id = 100_000_000_000 + rng.int(0, meanGap);
    for (let i = 0; i < synthetic; i++) {
      if (i === realAt) appendRow(appender, REAL_ROW, rng.int(0, fileCount - 1));
      id += 1 + Math.floor(rng.exponential(meanGap));
      if (BigInt(id) === REAL_ROW.id) id += 1;
      appendRow(appender, syntheticRow(rng, BigInt(id)), rng.int(0, fileCount - 1));
    }
    if (realAt === synthetic) appendRow(appender, REAL_ROW, rng.int(0, fileCount - 1));
    appender.closeSync();
    // Sorted by part, each part's rows lie together: its COPY skips the rest by zone maps.
    await duck.run('CREATE TABLE parts AS SELECT * FROM sample ORDER BY part, hash(id)');
    await duck.run('DROP TABLE sample');
    const files: string[] = [];
    const select = COYO_COLUMNS.map(quoteIdent).join(', ');
    for (let part = 0; part < fileCount; part++) {
      const file = join(options.outDir, `part-${String(part).padStart(5, '0')}.parquet`);
      await duck.run(`COPY (SELECT ${select} FROM parts WHERE part = ${part}) TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION snappy)`);
      const [count] = await duck.all(`SELECT count(*) AS n FROM parts WHERE part = ${part}`);
      options.onFile?.(file, Number(count?.['n'] ?? 0));
      files.push(file);
    }
    return { files, rows: options.rows };
  } finally {
    duck.close();
    await rm(join(options.outDir, '.sample.tmp'), { recursive: true, force: true });
  }
}

/**
 * Writes the sample as `part-00000.parquet` … in `outDir`, snappy-compressed, COYO column order.
 * Above {@link STREAM_ROWS} rows it is streamed through DuckDB on disk instead of built in memory.
 */
export async function writeSample(options: SampleOptions): Promise<SampleResult> {
  if (options.stream ?? options.rows > STREAM_ROWS) return writeStreamedSample(options);
  const rows = generateRows(options.rows, options.seed);
  const requested = Math.max(1, Math.min(options.files ?? Math.ceil(rows.length / 100_000), rows.length));
  const perFile = Math.ceil(rows.length / requested);
  const fileCount = Math.ceil(rows.length / perFile);
  await mkdir(options.outDir, { recursive: true });
  const duck = await Duck.open(':memory:', { threads: 1 });
  try {
    const columns = DUCKDB_COLUMNS.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
    await duck.run(`CREATE TABLE sample (part INTEGER, ${columns})`);
    const appender = await duck.connection.createAppender('sample');
    rows.forEach((row, i) => {
      appendRow(appender, row, Math.floor(i / perFile));
    });
    appender.closeSync();
    const files: string[] = [];
    const select = COYO_COLUMNS.map(quoteIdent).join(', ');
    for (let part = 0; part < fileCount; part++) {
      const file = join(options.outDir, `part-${String(part).padStart(5, '0')}.parquet`);
      // One thread keeps the insertion (shuffled) order, so the files are not pre-sorted by id.
      await duck.run(
        `COPY (SELECT ${select} FROM sample WHERE part = ${part}) TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION snappy)`,
      );
      const written = Math.min(perFile, rows.length - part * perFile);
      options.onFile?.(file, written);
      files.push(file);
    }
    return { files, rows: rows.length };
  } finally {
    duck.close();
  }
}
