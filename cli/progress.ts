/**
 * Live progress of a sync, rendered from {@link SyncEvent}s.
 *
 * - On a terminal ({@link createTtyRenderer}): finished steps, failures and
 *   warnings scroll up as plain lines, and below them one line per running
 *   step (entities and relationships so far, elapsed time) is redrawn in
 *   place. A redraw is a single write that moves the cursor up over the old
 *   block and rewrites each line (erase-line, then text), so nothing blinks;
 *   redraws are throttled, and lines are cut to the terminal width so that
 *   none wraps and breaks the cursor arithmetic.
 * - Anywhere else ({@link createPlainRenderer}): one plain line per step
 *   start, completion or failure (counts and milliseconds) and per warning;
 *   no escape sequences.
 */
import type { SyncEvent } from '../src/index.js';
import { formatCount, formatDuration, plural, printable } from './format.js';

/** The part of a stream the renderers use: `process.stderr`, or a fake in tests. */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** Clock in milliseconds; `performance.now` by default. */
  readonly now?: () => number;
  /** Minimum time between two redraws caused by progress events (TTY only). Default 100 ms. */
  readonly throttleMs?: number;
  /** Redraw period that keeps elapsed times moving (TTY only); 0 disables it. Default 250 ms. */
  readonly tickMs?: number;
  /** Warnings printed per step before the rest are only counted. Default 20. */
  readonly maxWarningsPerStep?: number;
}

export interface ProgressRenderer {
  onEvent(event: SyncEvent): void;
  /** Stops timers and leaves the terminal clean. Safe to call twice. */
  close(): void;
}

/** A TTY renderer when the stream is a terminal, a plain one otherwise. */
export function createProgressRenderer(stream: ProgressStream, options: ProgressOptions = {}): ProgressRenderer {
  return stream.isTTY ? createTtyRenderer(stream, options) : createPlainRenderer(stream, options);
}

/** Line texts shared by both renderers, {@link printable}. */
export function describeEvent(event: SyncEvent): string | undefined {
  const text = eventText(event);
  return text === undefined ? undefined : printable(text);
}

function eventText(event: SyncEvent): string | undefined {
  switch (event.type) {
    case 'started':
      return `sync ${event.syncId}: connector "${event.connectorId}", ${event.steps.length} step${event.steps.length === 1 ? '' : 's'} (${event.steps.join(', ')})`;
    case 'stepStarted':
      return `[${event.stepId}] started`;
    case 'stepCompleted': {
      const rejected = event.rejected > 0 ? `, ${formatCount(event.rejected)} rejected` : '';
      return `[${event.stepId}] completed: ${plural(event.entities, 'entity', 'entities')}, ${plural(event.relationships, 'relationship', 'relationships')}${rejected} in ${formatDuration(event.durationMs)}`;
    }
    case 'stepFailed':
      return `[${event.stepId}] FAILED after ${formatDuration(event.durationMs)}: ${event.error.kind}: ${event.error.message}`;
    case 'warning':
      return `[${event.stepId}] warning: ${event.field ? `${event.field}: ` : ''}${event.message}`;
    case 'completed': {
      const failed = event.failedSteps.length;
      const tail = failed > 0 ? `; ${failed} step${failed === 1 ? '' : 's'} failed (${event.failedSteps.join(', ')})` : '';
      return `run finished in ${formatDuration(event.durationMs)}: ${plural(event.entities, 'entity', 'entities')}, ${plural(event.relationships, 'relationship', 'relationships')}${tail}`;
    }
    case 'progress':
      return undefined;
  }
}

/** Counts warnings per step and says when a step's warnings stop being printed. */
function warningGate(max: number): (event: SyncEvent) => string | undefined | null {
  const seen = new Map<string, number>();
  return (event) => {
    if (event.type !== 'warning') return describeEvent(event);
    const count = (seen.get(event.stepId) ?? 0) + 1;
    seen.set(event.stepId, count);
    if (count <= max) return describeEvent(event);
    if (count === max + 1) return printable(`[${event.stepId}] more warnings are not shown`);
    return null;
  };
}

/** One line per step start, completion, failure and warning; never an escape sequence. */
export function createPlainRenderer(stream: ProgressStream, options: ProgressOptions = {}): ProgressRenderer {
  const line = warningGate(options.maxWarningsPerStep ?? 20);
  return {
    onEvent(event) {
      const text = line(event);
      if (text) stream.write(`${text}\n`);
    },
    close() {},
  };
}

const ESC = '\u001b[';
/** Erase the whole current line. */
const ERASE_LINE = `${ESC}2K`;
/** Erase from the cursor to the end of the screen. */
const ERASE_DOWN = `${ESC}J`;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

interface RunningStep {
  readonly startedAt: number;
  entities: number;
  relationships: number;
}

/** Scrolling lines above, one live line per running step below, redrawn in place. */
export function createTtyRenderer(stream: ProgressStream, options: ProgressOptions = {}): ProgressRenderer {
  const now = options.now ?? (() => performance.now());
  const throttleMs = options.throttleMs ?? 100;
  const tickMs = options.tickMs ?? 250;
  const line = warningGate(options.maxWarningsPerStep ?? 20);
  const running = new Map<string, RunningStep>();
  let drawn = 0;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let frame = 0;
  let pending: ReturnType<typeof setTimeout> | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let closed = false;

  const width = (): number => Math.max(20, (stream.columns || 80) - 1);
  const fit = (text: string): string => (text.length > width() ? `${text.slice(0, width() - 1)}…` : text);

  const liveLine = (stepId: string, step: RunningStep): string => {
    const spinner = SPINNER[frame % SPINNER.length]!;
    const elapsed = formatDuration(now() - step.startedAt, true);
    return fit(`${spinner} ${printable(stepId)}  ${plural(step.entities, 'entity', 'entities')}, ${plural(step.relationships, 'relationship', 'relationships')}  ${elapsed}`);
  };

  /** One write: back over the old block, permanent lines, the new block, erase leftovers. */
  const draw = (permanent: readonly string[] = []): void => {
    if (pending) {
      clearTimeout(pending);
      pending = undefined;
    }
    frame++;
    let out = drawn > 0 ? `${ESC}${drawn}A\r` : '\r';
    // A permanent line may be long and wrap: clear the old block first so no
    // stale text survives next to it. A plain redraw overwrites line by line.
    if (permanent.length > 0 && drawn > 0) out += ERASE_DOWN;
    for (const text of permanent) out += `${ERASE_LINE}${text}\n`;
    const block = closed ? [] : [...running].map(([id, step]) => liveLine(id, step));
    for (const text of block) out += `${ERASE_LINE}${text}\n`;
    if (block.length < drawn) out += ERASE_DOWN;
    drawn = block.length;
    lastDraw = now();
    stream.write(out);
  };

  const drawSoon = (): void => {
    if (pending) return;
    const wait = throttleMs - (now() - lastDraw);
    if (wait <= 0) draw();
    else {
      pending = setTimeout(() => {
        pending = undefined;
        draw();
      }, wait);
      pending.unref?.();
    }
  };

  const ensureTicker = (): void => {
    if (ticker || tickMs <= 0) return;
    ticker = setInterval(() => {
      if (running.size > 0) drawSoon();
    }, tickMs);
    ticker.unref?.();
  };

  return {
    onEvent(event) {
      if (closed) return;
      switch (event.type) {
        case 'stepStarted':
          running.set(event.stepId, { startedAt: now(), entities: 0, relationships: 0 });
          ensureTicker();
          draw();
          return;
        case 'progress': {
          const step = running.get(event.stepId);
          if (step) {
            step.entities = event.entities;
            step.relationships = event.relationships;
          }
          drawSoon();
          return;
        }
        case 'stepCompleted':
        case 'stepFailed':
          running.delete(event.stepId);
          draw([line(event)!]);
          return;
        default: {
          const text = line(event);
          if (text) draw([text]);
        }
      }
    },
    close() {
      if (closed) return;
      closed = true;
      if (ticker) clearInterval(ticker);
      if (drawn > 0) draw();
      else if (pending) clearTimeout(pending);
    },
  };
}
