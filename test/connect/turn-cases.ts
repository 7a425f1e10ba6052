/*
 * What the runner's turn must be in each runtime: a task after every
 * microtask queued before it. The run's backpressure (a step let through
 * runs to its next await before another may go) and abort timers rely on it.
 */
import { expect, it } from 'vitest';
import { nextTurn, turnSchedule, type TurnGlobals } from '../../src/connect/turn.js';

/** Resolves on `schedule`'s turn with how many hops of a microtask chain started just before it had run, and of a chain started on the previous turn. */
async function hopsBefore(schedule: (run: () => void) => void): Promise<number[]> {
  const turn = (): Promise<void> => new Promise((resolve) => schedule(resolve));
  let hops = 0;
  const chain = async (): Promise<void> => {
    for (let i = 0; i < 50; i++) {
      await null;
      hops++;
    }
  };
  const seen: number[] = [];
  const first = turn().then(() => {
    seen.push(hops);
    // Started inside a turn while the next one is already queued: the case of a step let through by the writer.
    hops = 0;
    void chain();
  });
  const second = turn().then(() => seen.push(hops));
  void chain();
  await Promise.all([first, second]);
  return seen;
}

/** The cases for a runtime with globals `g`; `nextTurn` too when they are the test's own. */
export function turnCases(runtime: string, g: TurnGlobals, own: boolean): void {
  it(`a turn (${runtime}) runs after every microtask queued before it, also when two turns were queued back to back`, async () => {
    expect(await hopsBefore(turnSchedule(g))).toEqual([50, 50]);
  });

  if (own) {
    it(`nextTurn (${runtime}) is such a turn`, async () => {
      expect(await hopsBefore((run) => void nextTurn().then(run))).toEqual([50, 50]);
    });
  }
}
