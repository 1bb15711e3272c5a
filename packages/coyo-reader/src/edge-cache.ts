/**
 * The second cache tier: the Cache API of the data centre, shared by every isolate there. Entries are
 * immutable bytes keyed by dataset version, so they never need invalidating: a new version has new
 * keys.
 */

/** Bytes by key; `match` answers undefined on a miss. */
export interface EdgeCache {
  match(key: string): Promise<ArrayBuffer | undefined>;
  put(key: string, bytes: ArrayBuffer): Promise<void>;
}

/** Where the synthetic cache keys live; never fetched, only used as Cache API keys. */
const CACHE_KEY_BASE = 'https://coyo-cache.internal/';

/** The two Cache API calls used (a Workers `Cache` fits); kept structural so Node tools can load this module. */
export interface CacheLike {
  match(key: string): Promise<Response | undefined>;
  put(key: string, response: Response): Promise<void>;
}

/** An EdgeCache over a Cache API cache (`caches.default` in a worker). */
export function cacheApiEdgeCache(cache: CacheLike): EdgeCache {
  return {
    async match(key: string): Promise<ArrayBuffer | undefined> {
      const hit = await cache.match(CACHE_KEY_BASE + key);
      return hit === undefined ? undefined : hit.arrayBuffer();
    },
    async put(key: string, bytes: ArrayBuffer): Promise<void> {
      await cache.put(
        CACHE_KEY_BASE + key,
        new Response(bytes, { headers: { 'cache-control': 'public, max-age=2592000, immutable', 'content-type': 'application/octet-stream' } }),
      );
    },
  };
}
