import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ClassifyAnswerSchema,
  EmbedImageAnswerSchema,
  EmbedTextRequestSchema,
  LIMITS,
  ModelsAnswerSchema,
  PROBLEMS,
  PROBLEM_TYPES,
  ProblemAnswerSchema,
  REVISION_HEX_DIGITS,
  ROUTES,
  decodeVectors,
  encodeVector,
  isProblemType,
  problemAnswer,
  revisionOfDigest,
} from './index.js';

describe('vectors', () => {
  it('round-trips float32 values exactly through JSON', () => {
    const values = new Float32Array([Math.PI, -1e-38, 3.4e38, 0.1, 0, 1 / 3]);
    const decoded = decodeVectors(JSON.parse(JSON.stringify([encodeVector(values)])) as number[][], 1, values.length);
    expect(Array.from(decoded[0] ?? [])).toEqual(Array.from(values));
  });

  it('refuses rows of the wrong count or width', () => {
    expect(() => decodeVectors([[1, 2]], 2, 2)).toThrow('expected 2 embeddings, got 1');
    expect(() => decodeVectors([[1, 2], [3]], 2, 2)).toThrow('does not have dim 2');
  });
});

describe('revisions', () => {
  it('takes the first 16 hex digits of a SHA-256 digest, which callers accept', () => {
    const digest = createHash('sha256').update('weights').digest('hex');
    const revision = revisionOfDigest(digest);
    expect(revision).toHaveLength(REVISION_HEX_DIGITS);
    expect(digest.startsWith(revision)).toBe(true);
    expect(EmbedImageAnswerSchema.safeParse({ model: 'm', revision, dim: 1, embeddings: [[1]] }).success).toBe(true);
  });

  it('refuses a digest that is not lowercase hex', () => {
    expect(() => revisionOfDigest('ABCDEF0123456789abcdef')).toThrow('not a lowercase hex');
  });

  it('accepts an answer without a revision (an older backend) but not a revision that is not hex', () => {
    expect(EmbedImageAnswerSchema.safeParse({ model: 'm', dim: 1, embeddings: [[1]] }).success).toBe(true);
    expect(ClassifyAnswerSchema.safeParse({ model: 'm', revision: 'not/hex!', predictions: [] }).success).toBe(false);
  });
});

describe('requests', () => {
  it('holds /v1/embed/text bodies to the text limits', () => {
    expect(EmbedTextRequestSchema.safeParse({ texts: ['a cat'] }).success).toBe(true);
    expect(EmbedTextRequestSchema.safeParse({ texts: [] }).success).toBe(false);
    expect(EmbedTextRequestSchema.safeParse({ texts: Array.from({ length: LIMITS.maxTextsPerCall + 1 }, () => 'a') }).success).toBe(false);
    expect(EmbedTextRequestSchema.safeParse({ texts: ['x'.repeat(LIMITS.maxTextLength + 1)] }).success).toBe(false);
  });
});

describe('models', () => {
  it('parses a list that holds a model of a task the caller does not know', () => {
    const parsed = ModelsAnswerSchema.parse({
      device: 'cpu',
      test_models: false,
      models: [{ id: 'new-model', task: 'object-detection' }],
    });
    expect(parsed.models[0]?.task).toBe('object-detection');
  });
});

describe('problems', () => {
  it('builds each problem type with its status and title, and the body parses', () => {
    for (const type of PROBLEM_TYPES) {
      const body = problemAnswer(type, 'why', 'req-1');
      expect(body.status).toBe(PROBLEMS[type].status);
      expect(ProblemAnswerSchema.parse(body)).toEqual(body);
    }
  });

  it('knows its own types and no others', () => {
    expect(isProblemType('overloaded')).toBe(true);
    expect(isProblemType('toString')).toBe(false);
  });
});

describe('routes', () => {
  it('keeps every path unique', () => {
    const paths = Object.values(ROUTES).map((r) => r.path);
    expect(new Set(paths).size).toBe(paths.length);
  });
});
