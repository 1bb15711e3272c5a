/**
 * Egress to public addresses only, decided by workerd on the resolved address: inside a network
 * namespace with its own hosts file (`unshare -rnm`, so nothing leaves the machine and no real DNS is
 * asked), the worker with `pnpm dev`'s IMAGE_EGRESS binding refuses image URLs whose names resolve
 * to loopback or private addresses, and redirects to them, while a public name is fetched; without the
 * binding the same loopback name is fetched, which shows the test can fail.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../harness/run';
import { REPO_ROOT } from '../harness/stack';
import type { ProbeCase } from './egress-probe';

/** Whether this machine lets an unprivileged process make user, network and mount namespaces. */
const namespaces = spawnSync('unshare', ['-rnm', 'true']).status === 0;

const SETUP = [
  'set -e',
  'ip link set lo up',
  'ip addr add 10.0.0.1/32 dev lo',
  'ip addr add 93.184.215.14/32 dev lo',
  'hosts=$(mktemp)',
  "printf '127.0.0.1 localhost\\n127.0.0.1 evil.test\\n10.0.0.1 private.test\\n93.184.215.14 img.public.test\\n' > \"$hosts\"",
  'mount --bind "$hosts" /etc/hosts',
  `exec "${process.execPath}" --import tsx faults/egress-probe.ts`,
].join('\n');

async function probe(): Promise<{ cases: ProbeCase[]; output: string }> {
  const { status, stdout, stderr } = await runProcess('unshare', ['-rnm', 'sh', '-c', SETUP], { cwd: join(REPO_ROOT, 'test') });
  if (status !== 0) throw new Error(`the probe exited ${String(status)}:\n${stdout}\n${stderr}`);
  const cases = stdout
    .split('\n')
    .filter((line) => line.startsWith('{"name"'))
    .map((line) => JSON.parse(line) as ProbeCase);
  return { cases, output: stdout + stderr };
}

describe.skipIf(!namespaces)('image egress (network namespace with its own hosts file)', () => {
  it('refuses names that resolve to loopback or private addresses, and redirects to them; fetches public names', async () => {
    const { cases, output } = await probe();
    const byName = new Map(cases.map((c) => [c.name, c]));
    const get = (name: string): ProbeCase => {
      const found = byName.get(name);
      if (found === undefined) throw new Error(`no result for "${name}":\n${output}`);
      return found;
    };

    // Admitted: the image was fetched; the request then failed only because no backend runs.
    expect(get('public name').hosts).toEqual(['img.public.test:8080']);
    for (const name of ['name resolving to loopback', 'name resolving to a private address']) {
      const refused = get(name);
      expect(refused.status, name).toBe(422);
      expect(refused.contentType, name).toMatch(/^application\/problem\+json/);
      expect(refused.problemType, name).toMatch(/image_fetch_failed$/);
      expect(refused.hosts, name).toEqual([]);
    }
    const redirect = get('redirect to a name resolving to loopback');
    expect(redirect.status).toBe(422);
    expect(redirect.problemType).toMatch(/image_fetch_failed$/);
    expect(redirect.hosts).toEqual(['img.public.test:8080']);

    // The control: the runtime's default outbound reaches the loopback name.
    expect(get('name resolving to loopback, global fetch').hosts).toEqual(['evil.test:8080']);
  });
});
