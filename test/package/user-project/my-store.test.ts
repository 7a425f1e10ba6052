// A third-party store proving itself with the installed package's suites,
// under the user's own vitest. The store here is the user's wrapper around
// the memory store; a real one would be their own GraphStore.
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import type { GraphStore } from 'parallax-edge/adapter-kit';
import { describeGraphStoreContract, describeModelBased } from 'parallax-edge/testing';

function createMyStore(): GraphStore {
  return { ...createMemoryStore(), kind: 'my-store' };
}

for (const mode of ['memory', 'streaming'] as const) {
  describeGraphStoreContract(`my-store (${mode})`, createMyStore, { mode });
  describeModelBased(`my-store (${mode})`, createMyStore, { mode, numRuns: 10 });
}
