/**
 * The direct ASCII path gives the library's ids (`@huggingface/tokenizers`, which transformers.js
 * tokenises with) on a corpus: the 1,000 ImageNet prompts the edge sends, random printable-ASCII strings
 * (punctuation, digits, runs of spaces, words longer than the piece limit), texts it must decline
 * (accents, CJK, emoji, control characters, added tokens), through the test model's vocabulary and a
 * larger one with continuation pieces.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ALIGN_MODEL_ID, generateTestModels } from './test-models.js';
import { loadTokenizer } from './tokenizer.js';

let modelsDir: string;

beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'coyo-tokenizer-ascii-'));
  await generateTestModels(modelsDir);
});

afterAll(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

async function prompts(): Promise<string[]> {
  const file = fileURLToPath(new URL('../../scripts/imagenet-labels.json', import.meta.url));
  const labels = z.record(z.string(), z.string()).parse(JSON.parse(await readFile(file, 'utf8')));
  return Object.values(labels).map((label) => `This is a photo of ${label.split(',')[0] ?? label}.`);
}

function randomAscii(n: number): string[] {
  let seed = 424242;
  const random = (k: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % k;
  };
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789     !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
  return Array.from({ length: n }, () => {
    const length = random(3) === 0 ? 90 + random(40) : random(40);
    let text = '';
    for (let i = 0; i < length; i++) text += alphabet.charAt(random(alphabet.length));
    return text;
  });
}

const DECLINED = [
  'CAFÉ au lait',
  'naïve façade',
  '北京 photo',
  'a photo of a 🐱',
  'tab\tseparated',
  'line\nbreak',
  'null\u0000byte',
  'a [MASK] token',
  'a [cls] in lower case',
  'ends with [SEP]',
  'non\u00a0breaking space',
];

/** The test model's tokenizer files with the vocabulary extended by `words` and continuation pieces of them. */
async function extendedVocabulary(words: readonly string[]): Promise<string> {
  const dir = join(modelsDir, 'extended');
  await cp(join(modelsDir, ALIGN_MODEL_ID), dir, { recursive: true });
  const file = join(dir, 'tokenizer.json');
  const json = z.looseObject({ model: z.looseObject({ vocab: z.record(z.string(), z.number()) }) }).parse(JSON.parse(await readFile(file, 'utf8')));
  const vocab = json.model.vocab;
  let next = Math.max(...Object.values(vocab)) + 1;
  const add = (token: string) => {
    if (!(token in vocab)) vocab[token] = next++;
  };
  for (const word of words) {
    // Whole words for some, a stem and its continuation for others, so both kinds of piece are used.
    if (word.length > 5 && word.length % 2 === 0) {
      add(word.slice(0, 3));
      add(`##${word.slice(3)}`);
      add(`##${word.slice(word.length - 1)}`);
    } else add(word);
  }
  for (const piece of ['##s', '##ing', '##ed', 're', '##a', '##e', 'a', 'b', 'x', '1', '2', '##1', '##2', '(', ')', '-', '%']) add(piece);
  await writeFile(file, JSON.stringify(json));
  return dir;
}

describe('the ASCII path of BertTokenizer.encode', () => {
  it('gives the library ids for prompts and random ASCII, and declines what it cannot answer exactly', async () => {
    const corpus = [...(await prompts()), ...randomAscii(2000)];
    const words = [...new Set(corpus.flatMap((t) => t.toLowerCase().split(/[^a-z0-9]+/)).filter(Boolean))];
    for (const dir of [join(modelsDir, ALIGN_MODEL_ID), await extendedVocabulary(words)]) {
      const ours = await loadTokenizer(dir);
      expect(ours.asciiPath).toBe(true);
      const library = new Tokenizer(
        JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as object,
        JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as object,
      );
      const mismatches = [...corpus, ...DECLINED]
        .map((text) => ({ text, ours: ours.encode(text, 10_000), library: library.encode(text).ids }))
        .filter(({ ours: a, library: b }) => a.length !== b.length || a.some((id, i) => id !== b[i]));
      expect(mismatches.slice(0, 3)).toEqual([]);
    }
  });

  it('is not used when the normaliser does not lower-case', async () => {
    const dir = join(modelsDir, 'cased');
    await cp(join(modelsDir, ALIGN_MODEL_ID), dir, { recursive: true });
    const file = join(dir, 'tokenizer.json');
    const json = z.looseObject({ normalizer: z.looseObject({}) }).parse(JSON.parse(await readFile(file, 'utf8')));
    json.normalizer.lowercase = false;
    await writeFile(file, JSON.stringify(json));
    expect((await loadTokenizer(dir)).asciiPath).toBe(false);
  });
});
