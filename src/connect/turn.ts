/*
 * A step that never awaits keeps the event loop from running anything else:
 * a Ctrl-C handler or an abort timer would wait for the whole step. The
 * runner therefore yields a macrotask (not a microtask, which would run
 * before I/O and signal handlers) at every page and step end.
 */

type Schedule = (run: () => void) => void;

/** The part of MessageChannel used here (typed structurally: not every runtime's types declare it). */
interface Channel {
  readonly port1: { onmessage: (() => void) | null };
  readonly port2: { postMessage(message: null): void };
}

const schedule: Schedule = (() => {
  const g = globalThis as { setImmediate?: (run: () => void) => unknown; MessageChannel?: new () => Channel };
  // Node: the check phase, right after I/O (signals included), without a timer's 1 ms.
  if (typeof g.setImmediate === 'function') return (run) => void g.setImmediate!(run);
  // Browsers and workerd: a message is a task of its own, also without a timer's clamping.
  if (typeof g.MessageChannel === 'function') {
    const channel = new g.MessageChannel();
    const queue: (() => void)[] = [];
    channel.port1.onmessage = () => queue.shift()?.();
    return (run) => {
      queue.push(run);
      channel.port2.postMessage(null);
    };
  }
  return (run) => void setTimeout(run, 0);
})();

/** Resolves on a later turn of the event loop, after pending I/O, timers and signal handlers. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => schedule(resolve));
}
