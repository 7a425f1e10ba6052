import { describe } from 'vitest';
import type { TurnGlobals } from '../../src/connect/turn.js';
import { turnCases } from './turn-cases.js';

describe('issue 11 backpressure: the runner yields a real turn in workerd', () => {
  // A Worker without nodejs_compat (wrangler.toml's, and the D1 bench's) has no setImmediate; this pool has it.
  turnCases('workerd without nodejs_compat', { MessageChannel: globalThis.MessageChannel as never, navigator: globalThis.navigator, setTimeout: globalThis.setTimeout }, false);
  turnCases('workerd', globalThis as unknown as TurnGlobals, true);
});
