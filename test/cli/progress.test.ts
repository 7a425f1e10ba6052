import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectorError, type SyncEvent } from 'parallax-edge';
import {
  createPlainRenderer,
  createProgressRenderer,
  createTtyRenderer,
  type ProgressStream,
} from '../../cli/progress.js';
import { formatDuration, jsonText, printable, syncStatsTable, table } from '../../cli/format.js';

/** A stream that records writes; a TTY of `columns` when asked. */
class FakeStream implements ProgressStream {
  readonly chunks: string[] = [];
  constructor(
    readonly isTTY: boolean,
    readonly columns = 80,
  ) {}
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/**
 * A tiny terminal: applies what the TTY renderer writes (text, \n, \r, cursor
 * up, erase line, erase down) to a screen of lines, so tests can check what a
 * user would see rather than the bytes.
 */
function screen(output: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const tokens = output.match(/\u001b\[\d*[A-Za-z]|\r|\n|[^\u001b\r\n]+/g) ?? [];
  for (const token of tokens) {
    if (token === '\n') {
      row++;
      col = 0;
      lines[row] ??= '';
    } else if (token === '\r') col = 0;
    else if (token.startsWith('\u001b[')) {
      const n = Number(token.slice(2, -1) || '1');
      const op = token.at(-1);
      if (op === 'A') row = Math.max(0, row - n);
      else if (op === 'K') lines[row] = '';
      else if (op === 'J') {
        lines[row] = lines[row]!.slice(0, col);
        lines.length = row + 1;
      } else throw new Error(`unexpected escape ${JSON.stringify(token)}`);
    } else {
      const line = lines[row] ?? '';
      lines[row] = line.slice(0, col).padEnd(col) + token + line.slice(col + token.length);
      col += token.length;
    }
  }
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}

const base = { connectorId: 'demo', syncId: 'sync-1' } as const;
const started: SyncEvent = { type: 'started', ...base, steps: ['users', 'groups', 'repos'] };
const stepStarted = (stepId: string): SyncEvent => ({ type: 'stepStarted', ...base, stepId });
const progress = (stepId: string, entities: number, relationships = 0): SyncEvent => ({ type: 'progress', ...base, stepId, entities, relationships });
const completed = (stepId: string, entities: number, relationships: number, durationMs: number, rejected = 0): SyncEvent => ({
  type: 'stepCompleted',
  ...base,
  stepId,
  entities,
  relationships,
  rejected,
  durationMs,
});
const failed = (stepId: string, message: string, durationMs: number): SyncEvent => ({
  type: 'stepFailed',
  ...base,
  stepId,
  error: ConnectorError.api(503, '/users', message),
  durationMs,
});
const warning = (stepId: string, message: string, field?: string): SyncEvent => ({
  type: 'warning',
  ...base,
  stepId,
  message,
  ...(field ? { field } : {}),
});

describe('plain progress (not a TTY)', () => {
  it('writes one line per step start, completion (counts and ms) and failure (kind and message), and no escape sequences', () => {
    const stream = new FakeStream(false);
    const renderer = createPlainRenderer(stream);
    for (const event of [
      started,
      stepStarted('users'),
      progress('users', 1000),
      completed('users', 1200, 3, 45.6, 2),
      stepStarted('repos'),
      failed('repos', 'repos API answered 503', 12.2),
      { type: 'completed', ...base, entities: 1200, relationships: 3, failedSteps: ['repos'], durationMs: 61 } as SyncEvent,
    ]) {
      renderer.onEvent(event);
    }
    renderer.close();
    expect(stream.text).not.toContain('\u001b');
    expect(stream.text.split('\n')).toEqual([
      'sync sync-1: connector "demo", 3 steps (users, groups, repos)',
      '[users] started',
      '[users] completed: 1,200 entities, 3 relationships, 2 rejected in 46 ms',
      '[repos] started',
      '[repos] FAILED after 12 ms: Api: repos API answered 503',
      'run finished in 61 ms: 1,200 entities, 3 relationships; 1 step failed (repos)',
      '',
    ]);
  });

  it('prints warnings with step and field, and only the first few per step', () => {
    const stream = new FakeStream(false);
    const renderer = createPlainRenderer(stream, { maxWarningsPerStep: 2 });
    for (let i = 0; i < 5; i++) renderer.onEvent(warning('users', `bad value ${i}`, 'properties.age'));
    renderer.onEvent(warning('repos', 'other step'));
    expect(stream.text.split('\n')).toEqual([
      '[users] warning: properties.age: bad value 0',
      '[users] warning: properties.age: bad value 1',
      '[users] more warnings are not shown',
      '[repos] warning: other step',
      '',
    ]);
  });
});

describe('TTY progress', () => {
  let clock = 0;
  const now = (): number => clock;
  beforeEach(() => {
    clock = 0;
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows one live line per running step with its counts and elapsed time, redrawn in place', () => {
    const stream = new FakeStream(true);
    const renderer = createTtyRenderer(stream, { now, tickMs: 0 });
    renderer.onEvent(started);
    renderer.onEvent(stepStarted('users'));
    renderer.onEvent(stepStarted('repos'));
    clock = 1500;
    renderer.onEvent(progress('users', 2000, 10));
    const lines = screen(stream.text);
    expect(lines[0]).toBe('sync sync-1: connector "demo", 3 steps (users, groups, repos)');
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^. users {2}2,000 entities, 10 relationships {2}1\.5s$/),
      expect.stringMatching(/^. repos {2}0 entities, 0 relationships {2}1\.5s$/),
    ]);
    // In place: the last frame moves up over the two live lines instead of appending.
    expect(stream.chunks.at(-1)).toMatch(/^\u001b\[2A\r/);
  });

  it('a finished step leaves a permanent line above the live lines and its live line disappears', () => {
    const stream = new FakeStream(true);
    const renderer = createTtyRenderer(stream, { now, tickMs: 0 });
    renderer.onEvent(stepStarted('users'));
    renderer.onEvent(stepStarted('repos'));
    clock = 200;
    renderer.onEvent(completed('users', 5, 1, 200));
    renderer.onEvent(failed('repos', 'repos API answered 503', 210));
    renderer.close();
    expect(screen(stream.text)).toEqual([
      '[users] completed: 5 entities, 1 relationship in 200 ms',
      '[repos] FAILED after 210 ms: Api: repos API answered 503',
    ]);
  });

  it('throttles redraws from progress events and catches up once the throttle window passes', () => {
    const stream = new FakeStream(true);
    const renderer = createTtyRenderer(stream, { now, throttleMs: 100, tickMs: 0 });
    renderer.onEvent(stepStarted('users'));
    const writes = stream.chunks.length;
    for (let i = 1; i <= 50; i++) {
      clock = i; // 50 events within 50 ms
      renderer.onEvent(progress('users', i * 10));
    }
    expect(stream.chunks.length).toBe(writes);
    clock = 100;
    vi.advanceTimersByTime(100);
    expect(stream.chunks.length).toBe(writes + 1);
    expect(screen(stream.text)).toEqual([expect.stringContaining('users  500 entities, 0 relationships')]);
    renderer.close();
  });

  it('a ticker keeps elapsed times moving while a step is quiet, and stops on close', () => {
    const stream = new FakeStream(true);
    const renderer = createTtyRenderer(stream, { now, tickMs: 250, throttleMs: 0 });
    renderer.onEvent(stepStarted('users'));
    clock = 2000;
    vi.advanceTimersByTime(250);
    expect(screen(stream.text)).toEqual([expect.stringMatching(/users {2}0 entities, 0 relationships {2}2\.0s$/)]);
    renderer.close();
    const after = stream.chunks.length;
    vi.advanceTimersByTime(5000);
    expect(stream.chunks.length).toBe(after);
    expect(screen(stream.text)).toEqual([]);
  });

  it('cuts live lines to the terminal width so they never wrap', () => {
    const stream = new FakeStream(true, 30);
    const renderer = createTtyRenderer(stream, { now, tickMs: 0 });
    renderer.onEvent(stepStarted('a-very-long-step-identifier'));
    renderer.onEvent(progress('a-very-long-step-identifier', 123456, 7890));
    const [line] = screen(stream.text);
    expect(line!.length).toBeLessThanOrEqual(29);
    expect(line!.endsWith('…')).toBe(true);
  });

  it('each frame is a single write, and a redraw only rewrites lines (no clear-screen)', () => {
    const stream = new FakeStream(true);
    const renderer = createTtyRenderer(stream, { now, tickMs: 0, throttleMs: 0 });
    renderer.onEvent(stepStarted('users'));
    renderer.onEvent(stepStarted('repos'));
    const before = stream.chunks.length;
    clock = 10;
    renderer.onEvent(progress('users', 1));
    expect(stream.chunks.length).toBe(before + 1);
    expect(stream.chunks.at(-1)).not.toContain('\u001b[J');
    expect(stream.chunks.at(-1)).not.toContain('\u001b[2J');
    expect(stream.chunks.at(-1)!.match(/\u001b\[2K/g)).toHaveLength(2);
  });

  it('Defect 8: escapes control characters in step ids, warnings and errors; its own cursor moves are the only escapes it writes', () => {
    const stream = new FakeStream(true);
    const renderer = createTtyRenderer(stream, { now, tickMs: 0, throttleMs: 0 });
    const hostile = 'hosts\u001b[2J\u009b1m\u202e';
    renderer.onEvent(stepStarted(hostile));
    renderer.onEvent(progress(hostile, 3));
    renderer.onEvent(warning(hostile, 'bad \u001b]0;title\u0007', 'properties.x\r'));
    renderer.onEvent(failed(hostile, 'API \u001b[31mred\b\u2066', 5));
    renderer.close();
    // Strip the renderer's own sequences (cursor up, erase line, erase down, CR, LF): nothing may be left.
    const rest = stream.text.replace(/\u001b\[\d+A|\u001b\[2K|\u001b\[J|\r|\n/g, '');
    expect(rest).not.toMatch(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/u);
    expect(screen(stream.text)).toEqual([
      String.raw`[hosts\x1b[2J\x9b1m\u202e] warning: properties.x\r: bad \x1b]0;title\x07`,
      String.raw`[hosts\x1b[2J\x9b1m\u202e] FAILED after 5 ms: Api: API \x1b[31mred\x08\u2066`,
    ]);
  });
});

describe('createProgressRenderer', () => {
  it('picks the live renderer for a TTY and plain lines otherwise', () => {
    const tty = new FakeStream(true);
    const plain = new FakeStream(false);
    for (const stream of [tty, plain]) {
      const renderer = createProgressRenderer(stream, { tickMs: 0 });
      renderer.onEvent(stepStarted('users'));
      renderer.close();
    }
    expect(tty.text).toContain('\u001b[');
    expect(plain.text).toBe('[users] started\n');
  });
});

describe('format', () => {
  it('tables pad columns, right-align numbers and trim trailing spaces', () => {
    expect(table([{ header: 'name' }, { header: 'n', align: 'right' }], [['a', '1'], ['bbb', '22']])).toBe('name   n\na      1\nbbb   22');
  });

  it('the stats table has created / updated / unchanged / deleted / kept for both kinds, and cascaded for relationships', () => {
    const text = syncStatsTable({
      entitiesCreated: 1,
      entitiesUpdated: 2,
      entitiesUnchanged: 3000,
      entitiesDeleted: 4,
      entitiesKept: 5,
      relationshipsCreated: 6,
      relationshipsUpdated: 7,
      relationshipsUnchanged: 8,
      relationshipsDeleted: 9,
      relationshipsCascaded: 10,
      relationshipsKept: 11,
    });
    expect(text.split('\n')).toEqual([
      '               created  updated  unchanged  deleted  kept  cascaded',
      'entities             1        2      3,000        4     5         -',
      'relationships        6        7          8        9    11        10',
    ]);
  });

  it('durations are whole milliseconds, live timers seconds', () => {
    expect(formatDuration(1234.5)).toBe('1235 ms');
    expect(formatDuration(1234.5, true)).toBe('1.2s');
  });

  it('Defect 8: printable escapes C0, DEL, C1, bidi controls, line separators and lone surrogates, and nothing else', () => {
    expect(printable('a\u001b[31mb\u0007\b\t\n\r\u0000\u007f')).toBe(String.raw`a\x1b[31mb\x07\x08\t\n\r\x00\x7f`);
    expect(printable('\u0080\u009b2J\u009f')).toBe(String.raw`\x80\x9b2J\x9f`);
    expect(printable('\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069')).toBe(
      String.raw`\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069`,
    );
    expect(printable('x\u2028y\u2029')).toBe(String.raw`x\u2028y\u2029`);
    expect(printable('lone \ud800 and \udfff')).toBe(String.raw`lone \ud800 and \udfff`);
    // Printable text stays as it is: accents, CJK, emoji (ZWJ sequences and flags), backslashes, NBSP.
    const plain = 'Zoë 東京 👩‍💻 🇫🇷 C:\\Users\\ada \\x1b a\u00a0b';
    expect(printable(plain)).toBe(plain);
  });

  it('Defect 8: jsonText is JSON that parses back to the same value, with C1, bidi and separator characters written as \\u escapes', () => {
    const value = { 'k\u202e': ['\u001b[2J', '\u009b', 'a\u2066b\u2028', 'Zoë 👩‍💻', '\ud800'], n: 1 };
    const text = jsonText(value);
    expect(JSON.parse(text)).toEqual(value);
    expect(text.replaceAll('\n', '')).not.toMatch(/[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\p{Cs}]/u);
    expect(text).toContain(String.raw`"k\u202e"`);
    expect(text).toContain('Zoë 👩‍💻');
    expect(text.endsWith('}\n')).toBe(true);
  });
});
