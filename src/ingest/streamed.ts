import type { StreamedSyncOutput } from '../connect/run.js';
import type { SyncWriter } from './writer.js';

/** The writer behind each streamed run's output, for `commitSync`; never exposed. */
export const streamed = new WeakMap<StreamedSyncOutput, SyncWriter>();
