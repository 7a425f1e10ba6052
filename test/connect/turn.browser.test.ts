import { describe } from 'vitest';
import type { TurnGlobals } from '../../src/connect/turn.js';
import { turnCases } from './turn-cases.js';

describe('issue 11 backpressure: the runner yields a real turn in Chromium', () => {
  turnCases('Chromium', globalThis as unknown as TurnGlobals, true);
});
