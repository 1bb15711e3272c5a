/**
 * The bench's cheap HTTP/1.1 client: keep-alive sockets over node:net, each request's bytes built as one
 * buffer, and of each answer only the status line, `Content-Length` (or chunked framing) and the two
 * timing headers read. `fetch` (undici) spends several times the server's own CPU per request on a text
 * request; on a 2-core machine that CPU is taken from the server it measures. Loopback, plain HTTP only.
 */
import { connect, type Socket } from 'node:net';

/** One request: method, path and headers (lower-case names), and the body, if any. */
export interface RawRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Readonly<Record<string, string>>;
  body?: Uint8Array | string;
}

export interface RawResponse {
  status: number;
  /** Header names lower-cased; only the ones asked for in {@link RawHttpClient} `keepHeaders`. */
  headers: Record<string, string>;
  body: Buffer;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');

interface Pending {
  resolve: (response: RawResponse) => void;
  reject: (error: Error) => void;
}

/** One keep-alive connection serving one request at a time. */
class Connection {
  readonly socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: Pending | undefined;
  #closed = false;
  /** Whether the server said it will close the connection after the answer being read. */
  #closing = false;

  constructor(
    port: number,
    host: string,
    private readonly keepHeaders: readonly string[],
    private readonly onIdle: (c: Connection) => void,
  ) {
    this.socket = connect({ port, host, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
    const fail = (error: Error) => {
      this.#closed = true;
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(error);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => { fail(new Error('the server closed the connection')); });
  }

  get usable(): boolean {
    return !this.#closed && !this.#closing && this.#pending === undefined;
  }

  send(bytes: Buffer, signal: AbortSignal): Promise<RawResponse> {
    return new Promise<RawResponse>((resolve, reject) => {
      const onAbort = () => {
        // The answer may still come: this connection cannot be reused.
        this.#closed = true;
        this.socket.destroy();
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending = {
        resolve: (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.#closed = true;
    this.socket.destroy();
  }

  #parse(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    const buffer = this.#buffer;
    const headEnd = buffer.indexOf(CRLF_CRLF);
    if (headEnd < 0) return;
    const head = buffer.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    let contentLength = -1;
    let chunked = false;
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') contentLength = Number(value);
      else if (name === 'transfer-encoding') chunked = value.toLowerCase().includes('chunked');
      else if (name === 'connection') this.#closing = value.toLowerCase() === 'close';
      if (this.keepHeaders.includes(name)) headers[name] = value;
    }
    const start = headEnd + 4;
    let body: Buffer;
    let end: number;
    if (chunked) {
      const parts: Buffer[] = [];
      let at = start;
      for (;;) {
        const lineEnd = buffer.indexOf('\r\n', at);
        if (lineEnd < 0) return;
        const size = parseInt(buffer.toString('latin1', at, lineEnd), 16);
        if (!Number.isFinite(size)) {
          this.#fatal(pending, 'a malformed chunk size');
          return;
        }
        const dataEnd = lineEnd + 2 + size;
        if (buffer.length < dataEnd + 2) return;
        if (size === 0) {
          end = dataEnd + 2;
          break;
        }
        parts.push(buffer.subarray(lineEnd + 2, dataEnd));
        at = dataEnd + 2;
      }
      body = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    } else if (contentLength >= 0) {
      end = start + contentLength;
      if (buffer.length < end) return;
      body = buffer.subarray(start, end);
    } else if (status === 204 || status === 304) {
      end = start;
      body = Buffer.alloc(0);
    } else {
      this.#fatal(pending, 'an answer with neither Content-Length nor chunked framing');
      return;
    }
    this.#buffer = buffer.subarray(end);
    this.#pending = undefined;
    if (this.#closing) this.close();
    pending.resolve({ status, headers, body });
    if (this.usable) this.onIdle(this);
  }

  #fatal(pending: Pending, what: string): void {
    this.#pending = undefined;
    this.close();
    pending.reject(new Error(`raw HTTP client: ${what}`));
  }
}

/**
 * A client for one server: idle keep-alive connections are reused, new ones opened while all are busy
 * (a closed loop of concurrency C holds at most C). `keepHeaders` are the (lower-case) answer headers
 * kept in each {@link RawResponse}.
 */
export class RawHttpClient {
  readonly #host: string;
  readonly #port: number;
  readonly #hostHeader: string;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  readonly #keepHeaders: readonly string[];

  constructor(baseUrl: string, keepHeaders: readonly string[] = []) {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:') throw new Error(`raw HTTP client: only http:// URLs, not ${baseUrl}`);
    this.#host = url.hostname.replace(/^\[|\]$/g, '');
    this.#port = Number(url.port || 80);
    this.#hostHeader = url.host;
    this.#keepHeaders = keepHeaders;
  }

  /** The bytes of `request` as sent: request line, Host, the headers, Content-Length, body. */
  encode(request: RawRequest): Buffer {
    const body = request.body === undefined ? undefined : typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
    let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${this.#hostHeader}\r\n`;
    for (const [name, value] of Object.entries(request.headers)) head += `${name}: ${value}\r\n`;
    if (body !== undefined) head += `content-length: ${body.byteLength}\r\n`;
    head += '\r\n';
    if (body === undefined) return Buffer.from(head, 'latin1');
    const out = Buffer.allocUnsafe(Buffer.byteLength(head, 'latin1') + body.byteLength);
    const at = out.write(head, 'latin1');
    out.set(body, at);
    return out;
  }

  /** Sends `request` (or its bytes from {@link encode}) and resolves with the answer. */
  send(request: RawRequest | Buffer, signal: AbortSignal): Promise<RawResponse> {
    const bytes = Buffer.isBuffer(request) ? request : this.encode(request);
    let connection = this.#idle.pop();
    while (connection !== undefined && !connection.usable) connection = this.#idle.pop();
    if (connection === undefined) {
      connection = new Connection(this.#port, this.#host, this.#keepHeaders, (c) => this.#idle.push(c));
      const c = connection;
      this.#all.add(c);
      c.socket.once('close', () => this.#all.delete(c));
    }
    return connection.send(bytes, signal);
  }

  /** Closes every connection. */
  close(): void {
    for (const c of this.#all) c.close();
    this.#all.clear();
    this.#idle.length = 0;
  }
}
