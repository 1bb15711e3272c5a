/**
 * BERT WordPiece tokenisation for the ALIGN text tower, read from the checkpoint's own
 * `tokenizer.json` (the real export's file drops in unchanged) through `@huggingface/tokenizers`;
 * printable-ASCII texts take a direct path that gives the library's ids (`tokenizer-ascii.ts`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { ModelConfigError } from './errors.js';
import { asciiWordPieceFor, type AsciiWordPiece } from './tokenizer-ascii.js';

/** ALIGN's text limit: the processor pads and truncates to 64 tokens. */
export const DEFAULT_MAX_TOKENS = 64;
/** bert-base-uncased's [PAD] id, the value padBatch fills with. */
export const PAD_TOKEN_ID = 0;

const TokenizerJsonSchema = z.looseObject({
  model: z.looseObject({
    type: z.literal('WordPiece', { error: 'expected a WordPiece model (BERT tokenizer)' }),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
  }),
});

const TokenizerConfigSchema = z.looseObject({
  cls_token: z.string().optional(),
  sep_token: z.string().optional(),
  pad_token: z.string().optional(),
  model_max_length: z.number().optional(),
});

/** A loaded BERT tokenizer with ALIGN's framing: `[CLS] … [SEP]`, truncated to a token budget. */
export class BertTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly #tokenizer: Tokenizer;
  readonly #ascii: AsciiWordPiece | undefined;

  /** `ascii`: the direct path for printable-ASCII texts, when the tokenizer's configuration allows it. */
  constructor(tokenizer: Tokenizer, ids: { clsId: number; sepId: number; padId: number }, ascii?: AsciiWordPiece) {
    this.#tokenizer = tokenizer;
    this.clsId = ids.clsId;
    this.sepId = ids.sepId;
    this.padId = ids.padId;
    this.#ascii = ascii;
  }

  /** Whether printable-ASCII texts take the direct path (the configuration is one it reproduces). */
  get asciiPath(): boolean {
    return this.#ascii !== undefined;
  }

  /**
   * Token ids of `text` with `[CLS]`/`[SEP]`, cut to at most `maxLength` ids so that `[SEP]` stays
   * last, as the Hugging Face processor's `truncation=True` does.
   *
   * @example tokenizer.encode('This is a photo of cat.') // [101, 2023, 2003, 1037, 6302, 1997, 4937, 1012, 102]
   */
  encode(text: string, maxLength: number = DEFAULT_MAX_TOKENS): number[] {
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new RangeError(`maxLength must be an integer >= 2 (room for [CLS] and [SEP]), got ${maxLength}`);
    }
    const ids = this.#ascii?.encode(text, this.clsId, this.sepId) ?? this.#tokenizer.encode(text).ids;
    if (ids.length <= maxLength) return ids;
    const truncated = ids.slice(0, maxLength - 1);
    truncated.push(this.sepId);
    return truncated;
  }

  /** WordPiece tokens of `text` without special tokens; for logs and debugging. */
  tokenize(text: string): string[] {
    return this.#tokenizer.tokenize(text);
  }
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ModelConfigError(file, `cannot be read (${(err as Error).message})`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError(file, `is not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

/**
 * Loads `tokenizer.json` and `tokenizer_config.json` from a model folder and checks that the
 * post-processor frames a text as `[CLS] … [SEP]`, so encode() can rely on it.
 */
export async function loadTokenizer(dir: string): Promise<BertTokenizer> {
  const tokenizerFile = join(dir, 'tokenizer.json');
  const configFile = join(dir, 'tokenizer_config.json');
  const tokenizerJson = await readJson(tokenizerFile);
  const parsedJson = TokenizerJsonSchema.safeParse(tokenizerJson);
  if (!parsedJson.success) throw new ModelConfigError(tokenizerFile, firstIssue(parsedJson.error));
  const configJson = await readJson(configFile);
  const parsedConfig = TokenizerConfigSchema.safeParse(configJson);
  if (!parsedConfig.success) throw new ModelConfigError(configFile, firstIssue(parsedConfig.error));

  const tokenizer = new Tokenizer(parsedJson.data, parsedConfig.data);
  const idOf = (token: string, file: string, field: string): number => {
    const id = tokenizer.token_to_id(token);
    if (id === undefined) throw new ModelConfigError(file, `${field}: token ${token} is not in the vocabulary`);
    return id;
  };
  const clsId = idOf(parsedConfig.data.cls_token ?? '[CLS]', configFile, 'cls_token');
  const sepId = idOf(parsedConfig.data.sep_token ?? '[SEP]', configFile, 'sep_token');
  const padId = idOf(parsedConfig.data.pad_token ?? '[PAD]', configFile, 'pad_token');

  const framing = tokenizer.encode('').ids;
  if (framing.length !== 2 || framing[0] !== clsId || framing[1] !== sepId) {
    throw new ModelConfigError(
      tokenizerFile,
      `post_processor: expected "[CLS] $A [SEP]" framing, an empty text encodes to [${framing.join(', ')}]`,
    );
  }
  // The direct ASCII path only where the configuration is the one it reproduces, and only if it agrees
  // with the library here, on texts that exercise every rule it has.
  let ascii = asciiWordPieceFor(parsedJson.data);
  if (ascii !== undefined) {
    for (const text of ASCII_SELF_CHECK) {
      const direct = ascii.encode(text, clsId, sepId);
      const library = tokenizer.encode(text).ids;
      if (direct === undefined || direct.length !== library.length || direct.some((id, i) => id !== library[i])) {
        ascii = undefined;
        break;
      }
    }
  }
  return new BertTokenizer(tokenizer, { clsId, sepId, padId }, ascii);
}

/** Texts the ASCII path must encode as the library does before it is used (see loadTokenizer). */
const ASCII_SELF_CHECK = [
  'This is a photo of a cat.',
  '  A PHOTO of 2 dogs, running (fast)!  ',
  "it's a bird-like plane: x=1+2; 50% off ~ #tags @you [not_special] {braces} <a|b> `q` ^_^ $5 \\ /",
  'antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis unbelievably',
  'x'.repeat(101),
  '',
];

/** The text tower's three int64 inputs, row-major [batch, seqLen]. */
export interface PaddedBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
  batch: number;
  seqLen: number;
}

/**
 * Pads encoded sequences to the longest one in the batch (not to 64): the attention mask makes
 * the embeddings identical and shorter batches cost the text tower less.
 */
export function padBatch(seqs: readonly (readonly number[])[], padId: number = PAD_TOKEN_ID): PaddedBatch {
  if (seqs.length === 0) throw new RangeError('padBatch needs at least one sequence');
  let seqLen = 0;
  for (const seq of seqs) {
    if (seq.length === 0) throw new RangeError('padBatch got an empty sequence; encode() always yields [CLS] and [SEP]');
    if (seq.length > seqLen) seqLen = seq.length;
  }
  const batch = seqs.length;
  const inputIds = new BigInt64Array(batch * seqLen);
  const attentionMask = new BigInt64Array(batch * seqLen);
  const tokenTypeIds = new BigInt64Array(batch * seqLen);
  if (LITTLE_ENDIAN && Number.isInteger(padId) && padId >= 0 && padId <= 0x7fffffff) {
    // Token ids are small non-negative integers: each int64 is written as its low 32-bit half (the high
    // half stays 0) through an Int32Array view, which makes no BigInt per token.
    const ids = new Int32Array(inputIds.buffer);
    const mask = new Int32Array(attentionMask.buffer);
    if (padId !== 0) for (let i = 0; i < ids.length; i += 2) ids[i] = padId;
    for (let b = 0; b < batch; b++) {
      const seq = seqs[b] as readonly number[];
      const row = 2 * b * seqLen;
      for (let t = 0; t < seq.length; t++) {
        const id = seq[t] as number;
        if (!(Number.isInteger(id) && id >= 0 && id <= 0x7fffffff)) throw new RangeError(`padBatch got token id ${id}, not an integer in 0…2^31-1`);
        ids[row + 2 * t] = id;
        mask[row + 2 * t] = 1;
      }
    }
    return { inputIds, attentionMask, tokenTypeIds, batch, seqLen };
  }
  inputIds.fill(BigInt(padId));
  seqs.forEach((seq, b) => {
    const row = b * seqLen;
    seq.forEach((id, t) => {
      inputIds[row + t] = BigInt(id);
      attentionMask[row + t] = 1n;
    });
  });
  return { inputIds, attentionMask, tokenTypeIds, batch, seqLen };
}

/** Whether this machine stores numbers little-endian (the low half of an int64 first). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
