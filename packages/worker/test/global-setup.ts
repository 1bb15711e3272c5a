import { createServer } from 'node:net';
import type { TestProject } from 'vitest/node';
import { FakeServer } from './fake-backend';

/** A local port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Starts the fake backend / image host in Node and tells the tests (and the pool config) where. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fake = new FakeServer();
  project.provide('fakeOrigin', await fake.start());
  project.provide('deadOrigin', `http://127.0.0.1:${await closedPort()}`);
  return () => fake.close();
}
