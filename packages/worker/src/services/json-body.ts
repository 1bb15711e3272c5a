/**
 * `JSON.parse` for request bodies that carry images inline: a camera-size JPEG is a 4 MB base64 string,
 * and `JSON.parse` copies and scans every character of it, about 3 ms of the isolate's CPU per request.
 * Strings of at least {@link LIFT_MIN_CHARS} characters without escapes are cut out of the text first
 * (found with `indexOf`, a native scan) and put back, as slices of the same text, into the parsed
 * value; `JSON.parse` then reads only the small rest.
 *
 * The result equals `JSON.parse(text)` for every valid JSON text, and a text `JSON.parse` refuses is
 * refused with its own `SyntaxError`, with one exception: a raw tab, line feed, form feed or carriage
 * return inside a lifted string (JSON wants them escaped) is not refused here. The strings lifted are
 * base64 images in practice, whose decoder skips ASCII whitespace, so the image decodes the same.
 */

/** Strings at least this long (in UTF-16 units) are lifted out before parsing. */
export const LIFT_MIN_CHARS = 64 * 1024;

/** Whether the quote at `at` is escaped: an odd number of backslashes right before it. */
function escaped(text: string, at: number): boolean {
  let n = 0;
  while (at - 1 - n >= 0 && text.charCodeAt(at - 1 - n) === 92 /* \ */) n++;
  return n % 2 === 1;
}

/** Parses a JSON text as `JSON.parse` does (see the module comment), lifting long strings first. */
export function parseJsonBody(text: string): unknown {
  if (text.length < LIFT_MIN_CHARS) return JSON.parse(text) as unknown;
  const lifted: string[] = [];
  // A marker no sender can guess, so no string of the body is mistaken for a lifted one.
  const marker = `coyo-lifted:${crypto.randomUUID()}:`;
  let reduced = '';
  let copied = 0;
  let pos = 0;
  // In valid JSON every quote outside a string opens one: walk the strings from quote to closing quote.
  for (;;) {
    const open = text.indexOf('"', pos);
    if (open < 0) break;
    let close = text.indexOf('"', open + 1);
    while (close >= 0 && escaped(text, close)) close = text.indexOf('"', close + 1);
    if (close < 0) break;
    if (close - open - 1 >= LIFT_MIN_CHARS) {
      const backslash = text.indexOf('\\', open + 1);
      if (backslash < 0 || backslash > close) {
        reduced += `${text.slice(copied, open + 1)}${marker}${lifted.length}`;
        lifted.push(text.slice(open + 1, close));
        copied = close;
      }
    }
    pos = close + 1;
  }
  if (lifted.length === 0) return JSON.parse(text) as unknown;
  reduced += text.slice(copied);
  let value: unknown;
  try {
    value = JSON.parse(reduced) as unknown;
  } catch {
    // The error as JSON.parse words it for the text the client sent (positions included).
    return JSON.parse(text) as unknown;
  }
  return restore(value, marker, lifted);
}

function restoreString(value: string, marker: string, lifted: readonly string[]): string {
  if (!value.startsWith(marker)) return value;
  const found = lifted[Number(value.slice(marker.length))];
  if (found === undefined) throw new Error(`bug: no lifted string for ${value}`);
  return found;
}

/** Puts the lifted strings back, in place (values and keys). */
function restore(value: unknown, marker: string, lifted: readonly string[]): unknown {
  if (typeof value === 'string') return restoreString(value, marker, lifted);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restore(value[i], marker, lifted);
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const restored = restore(record[key], marker, lifted);
      const name = restoreString(key, marker, lifted);
      if (name === key) {
        // An own data property (JSON.parse makes `__proto__` one too): assignment sets it, no setter runs.
        record[key] = restored;
      } else {
        Object.defineProperty(record, name, { value: restored, enumerable: true, writable: true, configurable: true });
        Reflect.deleteProperty(record, key);
      }
    }
  }
  return value;
}
