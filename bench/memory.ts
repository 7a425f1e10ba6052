/**
 * Peak memory of one operation in Node, including operations that never
 * yield to the event loop (better-sqlite3 runs a whole commit synchronously,
 * so an interval timer on the main thread would never fire during it):
 *
 * - peak RSS: a worker thread samples the process's RSS every millisecond
 *   into shared memory (RSS is process-wide, so the worker sees the main
 *   thread's allocations, native ones included);
 * - peak JS heap: V8's GCProfiler records the used heap before and after each
 *   GC; the heap only grows between GCs, so the peak is the largest
 *   "before GC" value or the value at the end. An interval sampler covers
 *   operations that do yield;
 * - start values are taken after two full GCs (with `--expose-gc`), so a
 *   phase's heap growth is its own.
 *
 * With `{ sampling: false }` (the timed phases) there is no sampler thread
 * and no interval timer, whose CPU would count in the phase's CPU time:
 * heap peaks then come from GCProfiler alone, and RSS is not sampled.
 */
import { GCProfiler } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Measure } from './report.js';

export type { Measure, Measured } from './report.js';

const RSS_SAMPLER = `
const { workerData } = require('node:worker_threads');
const cells = new Int32Array(workerData);
const tick = () => {
  const kb = Math.round(process.memoryUsage.rss() / 1024);
  if (kb > Atomics.load(cells, 0)) Atomics.store(cells, 0, kb);
  if (Atomics.load(cells, 1) === 0) setTimeout(tick, 1);
};
tick();
`;

/** `globalThis.gc`, exposing it at run time when node was started without `--expose-gc`. */
function findGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

export class MemoryProbe {
  readonly #cells = new Int32Array(new SharedArrayBuffer(8));
  readonly #worker: Worker | undefined;
  readonly #gc = findGc();
  readonly #sampling: boolean;
  readonly method: string;

  constructor(options: { readonly sampling?: boolean } = {}) {
    this.#sampling = options.sampling ?? true;
    if (this.#sampling) {
      this.#worker = new Worker(RSS_SAMPLER, { eval: true, workerData: this.#cells.buffer });
      this.#worker.unref();
    }
    const start = `start after ${this.#gc ? 'full GC' : 'no GC (gc unavailable)'}`;
    this.method = this.#sampling
      ? `heap: GCProfiler before-GC peaks + 2 ms interval, ${start}; RSS: worker thread every 1 ms`
      : `heap: GCProfiler before-GC peaks, ${start}; RSS: not sampled (no sampler thread, so CPU times are the sync's own)`;
  }

  /** Two full GCs, when available. */
  collect(): void {
    this.#gc?.();
    this.#gc?.();
  }

  measure: Measure = async (fn) => {
    this.collect();
    const start = process.memoryUsage();
    Atomics.store(this.#cells, 0, Math.round(start.rss / 1024));
    let heapPeak = start.heapUsed;
    const interval = this.#sampling
      ? setInterval(() => {
          heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
        }, 2)
      : undefined;
    const profiler = new GCProfiler();
    profiler.start();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let value: Awaited<ReturnType<typeof fn>>;
    try {
      value = await fn();
    } finally {
      clearInterval(interval);
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const profile = profiler.stop();
    const end = process.memoryUsage();
    heapPeak = Math.max(heapPeak, end.heapUsed);
    for (const gc of profile?.statistics ?? []) heapPeak = Math.max(heapPeak, gc.beforeGC.heapStatistics.usedHeapSize);
    const rssPeak = this.#sampling ? Math.max(Atomics.load(this.#cells, 0) * 1024, end.rss) : null;
    return {
      value,
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      memory: {
        rssStartBytes: this.#sampling ? start.rss : null,
        rssPeakBytes: rssPeak,
        heapStartBytes: start.heapUsed,
        heapPeakBytes: heapPeak,
        method: this.method,
      },
    };
  };

  async close(): Promise<void> {
    Atomics.store(this.#cells, 1, 1);
    await this.#worker?.terminate();
  }
}
