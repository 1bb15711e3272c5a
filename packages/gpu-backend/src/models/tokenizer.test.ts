import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ModelConfigError } from './errors.js';
import { ALIGN_MODEL_ID, generateTestModels } from './test-models.js';
import { loadTokenizer, padBatch, type BertTokenizer } from './tokenizer.js';

let modelsDir: string;
let alignDir: string;
let tokenizer: BertTokenizer;

beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'coyo-tokenizer-'));
  await generateTestModels(modelsDir);
  alignDir = join(modelsDir, ALIGN_MODEL_ID);
  tokenizer = await loadTokenizer(alignDir);
});

afterAll(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

describe('BertTokenizer.encode', () => {
  it('gives the real bert-base-uncased ids for a hypothesis sentence', () => {
    expect(tokenizer.encode('This is a photo of cat.')).toEqual([101, 2023, 2003, 1037, 6302, 1997, 4937, 1012, 102]);
  });

  it('lower-cases the text', () => {
    expect(tokenizer.encode('THE DOG')).toEqual(tokenizer.encode('the dog'));
    expect(tokenizer.encode('THE DOG')).toEqual([101, 1996, 3899, 102]);
  });

  it('strips accents', () => {
    expect(tokenizer.encode('ÀN')).toEqual([101, 2019, 102]);
    expect(tokenizer.tokenize('Çàt')).toEqual(['cat']);
  });

  it('splits punctuation into tokens of their own', () => {
    expect(tokenizer.tokenize('cat,dog!?')).toEqual(['cat', ',', 'dog', '!', '?']);
  });

  it('splits a word into ## continuation pieces', () => {
    expect(tokenizer.tokenize('cats')).toEqual(['cat', '##s']);
    expect(tokenizer.encode('cats')).toEqual([101, 4937, 2015, 102]);
  });

  it('maps a word it cannot piece together to [UNK]', () => {
    expect(tokenizer.encode('zebra cat')).toEqual([101, 100, 4937, 102]);
  });

  it('truncates to 64 ids by default with [SEP] kept last', () => {
    const ids = tokenizer.encode(Array.from({ length: 100 }, () => 'cat').join(' '));
    expect(ids).toHaveLength(64);
    expect(ids[0]).toBe(101);
    expect(ids[63]).toBe(102);
    expect(ids.slice(1, 63).every((id) => id === 4937)).toBe(true);
  });

  it('truncates to a smaller maxLength with [SEP] kept last', () => {
    expect(tokenizer.encode('a photo of a dog', 4)).toEqual([101, 1037, 6302, 102]);
  });

  it('leaves a text that fits untouched', () => {
    expect(tokenizer.encode('a dog', 4)).toEqual([101, 1037, 3899, 102]);
  });

  it('encodes an empty text as [CLS] [SEP]', () => {
    expect(tokenizer.encode('')).toEqual([101, 102]);
  });

  it('rejects a maxLength without room for [CLS] and [SEP]', () => {
    expect(() => tokenizer.encode('cat', 1)).toThrow(RangeError);
  });
});

describe('loadTokenizer', () => {
  it('reports a tokenizer.json that is not a WordPiece model, naming the file and field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coyo-tokenizer-bad-'));
    try {
      await cp(alignDir, dir, { recursive: true });
      const json = z.looseObject({ model: z.looseObject({ type: z.string() }) }).parse(JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')));
      json.model.type = 'BPE';
      await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(json));
      const err = await loadTokenizer(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelConfigError);
      expect((err as Error).message).toContain('tokenizer.json');
      expect((err as Error).message).toContain('model.type');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing tokenizer_config.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coyo-tokenizer-missing-'));
    try {
      await cp(join(alignDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
      await expect(loadTokenizer(dir)).rejects.toThrow(/tokenizer_config\.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('padBatch', () => {
  it('pads to the longest sequence with [PAD]=0 and masks the padding', () => {
    const batch = padBatch([
      [101, 4937, 102],
      [101, 1037, 6302, 1997, 3899, 102],
    ]);
    expect(batch.batch).toBe(2);
    expect(batch.seqLen).toBe(6);
    expect([...batch.inputIds]).toEqual([101n, 4937n, 102n, 0n, 0n, 0n, 101n, 1037n, 6302n, 1997n, 3899n, 102n]);
    expect([...batch.attentionMask]).toEqual([1n, 1n, 1n, 0n, 0n, 0n, 1n, 1n, 1n, 1n, 1n, 1n]);
    expect([...batch.tokenTypeIds]).toEqual(new Array(12).fill(0n));
  });

  it('adds no padding when every sequence has the same length', () => {
    const batch = padBatch([[101, 102], [101, 102]]);
    expect(batch.seqLen).toBe(2);
    expect([...batch.attentionMask]).toEqual([1n, 1n, 1n, 1n]);
  });

  it('rejects an empty batch', () => {
    expect(() => padBatch([])).toThrow(RangeError);
  });

  it('writes ids of the whole int32 range and a non-zero pad id as int64 values', () => {
    const batch = padBatch([[101, 2 ** 31 - 1, 102], [7]], 5);
    expect([...batch.inputIds]).toEqual([101n, 2147483647n, 102n, 7n, 5n, 5n]);
    expect([...batch.attentionMask]).toEqual([1n, 1n, 1n, 1n, 0n, 0n]);
    expect([...batch.tokenTypeIds]).toEqual(new Array(6).fill(0n));
  });

  it('rejects a token id that is not an integer in 0…2^31-1', () => {
    expect(() => padBatch([[101, -1, 102]])).toThrow(RangeError);
    expect(() => padBatch([[101, 1.5, 102]])).toThrow(RangeError);
  });
});
