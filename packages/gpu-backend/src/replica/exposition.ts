/**
 * Merging the Prometheus text expositions of a replica's processes into one page: every sample gains a
 * `process` label (the process's slot, stable across restarts), and each metric family is written once,
 * its HELP and TYPE lines first, then the samples of every process (the text format wants a family's
 * samples together).
 */

/** Adds `name="value"` as the first label of every sample line of `text`; comment lines are kept. */
export function addLabel(text: string, name: string, value: string): string {
  const label = `${name}="${value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
  return text
    .split('\n')
    .map((line) => {
      if (line === '' || line.startsWith('#')) return line;
      // A metric name holds neither `{` nor a space: the first of them ends it.
      const brace = line.indexOf('{');
      const space = line.indexOf(' ');
      if (space < 0) return line;
      if (brace >= 0 && brace < space) {
        const rest = line.slice(brace + 1);
        return `${line.slice(0, brace + 1)}${label}${rest.startsWith('}') ? '' : ','}${rest}`;
      }
      return `${line.slice(0, space)}{${label}}${line.slice(space)}`;
    })
    .join('\n');
}

interface Family {
  /** `# HELP` and `# TYPE` lines, from the first page that had the family. */
  header: string[];
  samples: string[];
}

/** The family a sample line belongs to: its name less a histogram's `_bucket`, `_sum` or `_count`. */
function sampleName(line: string): string {
  const end = line.search(/[{ ]/);
  return end < 0 ? line : line.slice(0, end);
}

/** One exposition holding every family of `pages`, in the order they first appear. */
export function mergeExpositions(pages: readonly string[]): string {
  const families = new Map<string, Family>();
  for (const page of pages) {
    let current: Family | undefined;
    for (const line of page.split('\n')) {
      if (line === '') continue;
      const comment = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (comment) {
        const name = comment[2] ?? '';
        let family = families.get(name);
        const isNew = family === undefined;
        family ??= { header: [], samples: [] };
        if (isNew) families.set(name, family);
        // Keep the first page's header; later pages repeat it.
        if (isNew || family.header.length < 2) {
          if (!family.header.some((h) => h.startsWith(`# ${comment[1] ?? ''} `))) family.header.push(line);
        }
        current = family;
        continue;
      }
      if (line.startsWith('#')) continue;
      if (current === undefined) {
        // A sample before any header: a family of its own, named by the sample.
        const name = sampleName(line);
        current = families.get(name) ?? { header: [], samples: [] };
        families.set(name, current);
      }
      current.samples.push(line);
    }
  }
  let out = '';
  for (const { header, samples } of families.values()) {
    for (const line of header) out += `${line}\n`;
    for (const line of samples) out += `${line}\n`;
  }
  return out;
}
