/** Step definitions: the builder's retry settings for durable engines (a Workflow's step.do). */
import { describe, expect, it } from 'vitest';
import { DEFAULT_STEP_RETRIES, step } from 'parallax-edge';

describe('step(...).retries()', () => {
  it('a step without retries has none in its definition: the engine applies DEFAULT_STEP_RETRIES', () => {
    expect(step('a', 'A').build().retries).toBeUndefined();
    expect(DEFAULT_STEP_RETRIES).toEqual({ limit: 3, delayMs: 5_000, backoff: 'exponential', timeoutMs: 600_000 });
  });

  it('what is not given keeps its default, and later calls add to earlier ones', () => {
    expect(step('a', 'A').retries({ limit: 5 }).retries({ backoff: 'linear' }).build().retries).toEqual({ ...DEFAULT_STEP_RETRIES, limit: 5, backoff: 'linear' });
  });

  it('a bad setting is refused naming the step and the field', () => {
    expect(() => step('users', 'U').retries({ limit: -1 })).toThrow('step "users": retries.limit must be a non-negative integer');
    expect(() => step('users', 'U').retries({ delayMs: 1.5 })).toThrow('retries.delayMs');
    expect(() => step('users', 'U').retries({ backoff: 'random' as never })).toThrow('retries.backoff must be constant, linear or exponential');
  });
});
