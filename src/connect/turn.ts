/*
 * A step that never awaits keeps the event loop from running anything else:
 * a Ctrl-C handler or an abort timer would wait for the whole step. The
 * runner therefore yields a macrotask (not a microtask, which would run
 * before I/O and signal handlers) at every page and step end. The run's
 * backpressure (SyncWriter.room) also counts on it: a step let through runs
 * to its next await before the turn ends.
 */

type Schedule = (run: () => void) => void;

/** The part of MessageChannel used here (typed structurally: not every runtime's types declare it). */
interface Channel {
  readonly port1: { onmessage: (() => void) | null };
  readonly port2: { postMessage(message: null): void };
}

/** The globals a schedule is chosen from. */
export interface TurnGlobals {
  readonly setImmediate?: (run: () => void) => unknown;
  readonly MessageChannel?: new () => Channel;
  readonly navigator?: { readonly userAgent?: string };
  readonly setTimeout: (run: () => void, ms: number) => unknown;
}

/** How {@link nextTurn} yields in a runtime with these globals. */
export function turnSchedule(g: TurnGlobals): Schedule {
  // Node (and workerd with nodejs_compat): the check phase, right after I/O (signals included), without a timer's 1 ms.
  if (typeof g.setImmediate === 'function') return (run) => void g.setImmediate!(run);
  // workerd runs a port's message before the microtasks queued ahead of it, so there a message is no turn; its timers are.
  if (typeof g.MessageChannel === 'function' && g.navigator?.userAgent !== 'Cloudflare-Workers') {
    // Browsers: a message is a task of its own, without a timer's clamping.
    const channel = new g.MessageChannel();
    const queue: (() => void)[] = [];
    channel.port1.onmessage = () => queue.shift()?.();
    return (run) => {
      queue.push(run);
      channel.port2.postMessage(null);
    };
  }
  return (run) => void g.setTimeout(run, 0);
}

const schedule = turnSchedule(globalThis as unknown as TurnGlobals);

/** Resolves on a later turn of the event loop, after pending I/O, timers and signal handlers. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => schedule(resolve));
}
