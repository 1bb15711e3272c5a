import { readJson, type Sent } from './request.js';

/** A result with the `x-request-id` of the answer that carried it (not enumerable: JSON output stays the API's). */
export type WithRequestId<T> = T & { readonly requestId?: string };

function attachRequestId<T>(value: T, response: Response): WithRequestId<T> {
  const requestId = response.headers.get('x-request-id');
  if (typeof value === 'object' && value !== null && requestId !== null) {
    Object.defineProperty(value, 'requestId', { value: requestId, enumerable: false, configurable: true });
  }
  // The property is optional, so every value of T is a WithRequestId<T>; TypeScript cannot see it for a generic T.
  return value as WithRequestId<T>;
}

/**
 * What every method returns: a promise of the parsed result, with `.withResponse()` for the result
 * and the raw `Response` together and `.asResponse()` for the `Response` alone (body unread).
 * The request starts at once, as with `fetch`.
 */
export class APIPromise<T> implements PromiseLike<WithRequestId<T>> {
  private parsed: Promise<WithRequestId<T>> | undefined;

  constructor(private readonly sent: Promise<Sent>) {
    // A call nobody awaits must not crash the process with an unhandled rejection.
    sent.catch(() => undefined);
  }

  private result(): Promise<WithRequestId<T>> {
    // The API's answers are typed by the generated spec and not re-validated at runtime (that would ship
    // a schema library to every browser): this is the one place that trust is written down.
    this.parsed ??= this.sent.then(async (sent) => attachRequestId((await readJson(sent)) as T, sent.response));
    return this.parsed;
  }

  /** The raw `Response`, body unread; the call's timeout stops counting once headers arrived. */
  async asResponse(): Promise<Response> {
    const sent = await this.sent;
    sent.deadline.dispose();
    return sent.response;
  }

  /** The parsed result together with the raw `Response` (whose body has been read). */
  async withResponse(): Promise<{ data: WithRequestId<T>; response: Response; requestId: string | undefined }> {
    const [data, sent] = await Promise.all([this.result(), this.sent]);
    return { data, response: sent.response, requestId: sent.response.headers.get('x-request-id') ?? undefined };
  }

  then<R1 = WithRequestId<T>, R2 = never>(
    onfulfilled?: ((value: WithRequestId<T>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.result().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<WithRequestId<T> | R> {
    return this.result().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<WithRequestId<T>> {
    return this.result().finally(onfinally);
  }
}

/**
 * A paginated list: `await` it for the first page, `for await (const item of list)` for every item
 * across pages, `list.pages()` for the pages themselves. Each page is fetched only when needed.
 */
export class PagePromise<Page, Item> extends APIPromise<Page> implements AsyncIterable<Item> {
  constructor(
    sent: Promise<Sent>,
    private readonly next: (page: Page) => PagePromise<Page, Item> | undefined,
    private readonly items: (page: Page) => readonly Item[],
  ) {
    super(sent);
  }

  /** Every page, in order, starting with this one. */
  async *pages(): AsyncGenerator<WithRequestId<Page>, void, undefined> {
    let page: WithRequestId<Page> = await this;
    yield page;
    for (let next = this.next(page); next !== undefined; next = next.next(page)) {
      page = await next;
      yield page;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    for await (const page of this.pages()) yield* this.items(page);
  }
}
