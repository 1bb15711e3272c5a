/**
 * The API key both pages share: typed once (in the playground or in the API reference's Authorize
 * dialog) and kept in this browser's localStorage under one slot, so the other page finds it.
 */

/** The `localStorage` slot of the key. */
export const API_KEY_STORAGE_KEY = 'coyo-edge.api-key';

/** The remembered key, or `''` when none is stored or storage is disabled. */
export function loadApiKey(): string {
  try {
    return localStorage.getItem(API_KEY_STORAGE_KEY) ?? '';
  } catch {
    return '';
  }
}

/** Remembers `key`; an empty key forgets it. Storage may be disabled: the key is then not kept. */
export function saveApiKey(key: string): void {
  try {
    if (key === '') localStorage.removeItem(API_KEY_STORAGE_KEY);
    else localStorage.setItem(API_KEY_STORAGE_KEY, key);
  } catch {
    // Storage disabled (private mode, policy): the page still works, the key is just not remembered.
  }
}
