/** The request body reader of the bench's plain `node:http` servers (the text floor and the transformers.js peer). */
import type { IncomingMessage } from 'node:http';

/** Reads the whole body, refusing more than `maxBytes`; a one-chunk body is returned without a copy. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
}
