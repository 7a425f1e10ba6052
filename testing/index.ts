/**
 * parallax-edge/testing: the suites every store passes, for authors of a
 * third-party `GraphStore`. `describeGraphStoreContract` runs the sync
 * protocol's rules (INV-C01..C04, INV-03, +P1, +P2, +P4) against a store;
 * `describeModelBased` compares it with the memory reference on random syncs
 * (+P3). `describeQueryContract` and `describeQueryModel` do the same for
 * PQL queries, through the store's `query` hook. The sync
 * suites run in either mode: an input committed from memory, or a run
 * streamed into the store. They need `vitest` (and `fast-check` for the
 * model), the project's own test dependencies.
 *
 * @example
 * // my-store.test.ts
 * import { describeGraphStoreContract, describeModelBased } from 'parallax-edge/testing';
 * import { createMyStore } from './my-store.js';
 *
 * for (const mode of ['memory', 'streaming'] as const) {
 *   describeGraphStoreContract(`my-store (${mode})`, () => createMyStore(), { mode });
 *   describeModelBased(`my-store (${mode})`, () => createMyStore(), { mode });
 * }
 */
export * from './contract.js';
export * from './model.js';
export * from './query-contract.js';
export * from './query-model.js';
