/**
 * BERT WordPiece for printable-ASCII texts, computed directly: the ids `@huggingface/tokenizers` gives
 * for such a text (BertNormalizer with lower-casing, BertPreTokenizer, WordPiece, `[CLS] … [SEP]`),
 * without its per-character regular expressions, Unicode normalisation and string arrays: a zero-shot
 * prompt costs a tenth of the library's CPU. It takes only what it can answer exactly and returns
 * `undefined` for everything else, which the library then encodes:
 * - any character outside 0x20–0x7E (so no Unicode normalisation, accents, CJK, control characters or
 *   white space other than the space can arise);
 * - any text that contains an added token (`[CLS]`, `[MASK]`, …) in any case, which the library
 *   matches before and after normalising;
 * - every text, when the tokenizer's configuration is other than the one described here
 *   ({@link asciiWordPieceFor} checks it from `tokenizer.json`).
 * For printable ASCII, the library's steps reduce to: lower-case; split at spaces; each ASCII
 * punctuation character (0x21–0x2F, 0x3A–0x40, 0x5B–0x60, 0x7B–0x7E, its `PUNCTUATION_REGEX`) a word of
 * its own; each word greedily into the longest vocabulary pieces, continuations prefixed, a word longer
 * than `max_input_chars_per_word` or one that cannot be pieced together a single `[UNK]`.
 */
import { z } from 'zod';

/** The parts of `tokenizer.json` this encoder depends on; anything else makes it decline every text. */
const AsciiEligibleSchema = z.looseObject({
  normalizer: z.looseObject({ type: z.literal('BertNormalizer'), lowercase: z.literal(true) }),
  pre_tokenizer: z.looseObject({ type: z.literal('BertPreTokenizer') }),
  model: z.looseObject({
    type: z.literal('WordPiece'),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
    unk_token: z.string(),
    continuing_subword_prefix: z.string().default('##'),
    max_input_chars_per_word: z.number().int().positive().default(100),
    fuse_unk: z.literal(false).optional(),
  }),
  added_tokens: z.array(z.looseObject({ content: z.string().min(1) })).default([]),
});

const SPACE = 0x20;

/** Whether printable-ASCII `c` is punctuation to BertPreTokenizer. */
function isPunctuation(c: number): boolean {
  return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

export class AsciiWordPiece {
  readonly #vocab: ReadonlyMap<string, number>;
  readonly #unkId: number;
  readonly #prefix: string;
  readonly #maxChars: number;
  /** Added tokens' text, lower-cased: a text containing one is declined. */
  readonly #added: readonly string[];

  constructor(options: { vocab: ReadonlyMap<string, number>; unkId: number; prefix: string; maxChars: number; added: readonly string[] }) {
    this.#vocab = options.vocab;
    this.#unkId = options.unkId;
    this.#prefix = options.prefix;
    this.#maxChars = options.maxChars;
    this.#added = options.added.map((a) => a.toLowerCase());
  }

  /**
   * The ids of `text` between `clsId` and `sepId`, untruncated, or `undefined` when the text is not one
   * this encoder answers (see the module's doc comment).
   */
  encode(text: string, clsId: number, sepId: number): number[] | undefined {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) return undefined;
    }
    const lower = text.toLowerCase();
    for (const added of this.#added) if (lower.includes(added)) return undefined;
    const ids = [clsId];
    const n = lower.length;
    let i = 0;
    while (i < n) {
      const c = lower.charCodeAt(i);
      if (c === SPACE) {
        i++;
      } else if (isPunctuation(c)) {
        this.#word(lower.slice(i, i + 1), ids);
        i++;
      } else {
        let j = i + 1;
        while (j < n) {
          const d = lower.charCodeAt(j);
          if (d === SPACE || isPunctuation(d)) break;
          j++;
        }
        this.#word(lower.slice(i, j), ids);
        i = j;
      }
    }
    ids.push(sepId);
    return ids;
  }

  /** WordPiece of one word, appended to `ids`: longest pieces first, `[UNK]` for the whole word when one is missing. */
  #word(word: string, ids: number[]): void {
    if (word.length > this.#maxChars) {
      ids.push(this.#unkId);
      return;
    }
    const first = ids.length;
    let start = 0;
    while (start < word.length) {
      let end = word.length;
      let id: number | undefined;
      while (start < end) {
        const piece = start > 0 ? this.#prefix + word.slice(start, end) : word.slice(start, end);
        id = this.#vocab.get(piece);
        if (id !== undefined) break;
        end--;
      }
      if (id === undefined) {
        ids.length = first;
        ids.push(this.#unkId);
        return;
      }
      ids.push(id);
      start = end;
    }
  }
}

/**
 * The ASCII encoder for a parsed `tokenizer.json`, or `undefined` when its normaliser, pre-tokeniser or
 * model is not the BERT configuration {@link AsciiWordPiece} reproduces.
 */
export function asciiWordPieceFor(tokenizerJson: unknown): AsciiWordPiece | undefined {
  const parsed = AsciiEligibleSchema.safeParse(tokenizerJson);
  if (!parsed.success) return undefined;
  const { model, added_tokens: added } = parsed.data;
  const vocab = new Map(Object.entries(model.vocab));
  const unkId = vocab.get(model.unk_token);
  if (unkId === undefined) return undefined;
  return new AsciiWordPiece({
    vocab,
    unkId,
    prefix: model.continuing_subword_prefix,
    maxChars: model.max_input_chars_per_word,
    added: added.map((a) => a.content),
  });
}
