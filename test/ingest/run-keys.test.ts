/**
 * The run's compact id set (`RunKeys`): duplicate (type, key) detection
 * across the whole run and `ctx.prior.has` rest on it, so it must answer
 * exactly like a set of full 128-bit ids, whatever it went through (growth
 * segment by segment, a failed step's ids freed, the whole set released).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entityIdWords } from '../../src/model/ids.js';
import { RunKeys, SEGMENT_BITS, free } from '../../src/ingest/run-keys.js';

const SEGMENTS = 1 << SEGMENT_BITS;

/** An id whose second word puts it in segment `segment`; the other words from `n`. */
function idIn(segment: number, n: number): Uint32Array {
  return Uint32Array.of(Math.imul(n + 1, 0x9e3779b1) >>> 0, ((segment << (32 - SEGMENT_BITS)) | (n & 0xffff)) >>> 0, n, ~n >>> 0);
}

const hostId = (i: number): Uint32Array => entityIdWords('acme', 'host', `h-${i}`).slice();

describe('RunKeys', () => {
  it('INV-C03 duplicates: a second claim of an id answers the step that claimed it first, and keeps it', () => {
    const keys = new RunKeys();
    expect(keys.claim(hostId(1), 3)).toBe(0);
    expect(keys.claim(hostId(1), 5)).toBe(3);
    expect(keys.stepOf(hostId(1))).toBe(3);
    expect(keys.stepOf(hostId(2))).toBe(0);
    expect(keys.size).toBe(1);
  });

  it('ids that differ in one word only are different ids (the full 128 bits are compared)', () => {
    const keys = new RunKeys();
    const id = idIn(0, 7);
    expect(keys.claim(id, 1)).toBe(0);
    for (let word = 0; word < 4; word++) {
      const other = id.slice();
      // Flip a low bit, which neither picks the segment nor (for words 0 and 1) the slot.
      other[word] = (other[word]! ^ 1) >>> 0;
      expect(keys.stepOf(other)).toBe(0);
      expect(keys.claim(other, 2)).toBe(0);
    }
    expect(keys.size).toBe(5);
  });

  it('segments grow independently: ids of one segment grow that segment only, and every id is still found', () => {
    const keys = new RunKeys();
    keys.claim(idIn(SEGMENTS - 1, 0), 1);
    for (let n = 0; n < 5000; n++) expect(keys.claim(idIn(3, n), 2)).toBe(0);
    const slots = keys.segmentSlots;
    expect(slots).toHaveLength(SEGMENTS);
    expect(slots[3]).toBeGreaterThanOrEqual(5000 / 0.8);
    expect(slots[SEGMENTS - 1]).toBe(256);
    expect(slots.filter((s) => s > 0)).toHaveLength(2);
    for (let n = 0; n < 5000; n++) expect(keys.stepOf(idIn(3, n))).toBe(2);
    expect(keys.stepOf(idIn(SEGMENTS - 1, 0))).toBe(1);
  });

  it('INV-C03 duplicates after growth: an id claimed before the set grew is still refused to a later step', () => {
    const keys = new RunKeys();
    expect(keys.claim(hostId(0), 1)).toBe(0);
    for (let i = 1; i < 100_000; i++) keys.claim(hostId(i), 1);
    expect(keys.claim(hostId(0), 2)).toBe(1);
    expect(keys.claim(hostId(99_999), 2)).toBe(1);
    expect(keys.size).toBe(100_000);
  });

  it('issue 11: at most about 32 bytes a row, and no table much bigger than its share (growth in small steps)', () => {
    const keys = new RunKeys();
    for (let i = 0; i < 200_000; i++) {
      keys.claim(hostId(i), 1);
      if (i % 20_011 === 20_010) expect(keys.bytes / keys.size).toBeLessThanOrEqual(32);
    }
    expect(keys.bytes / keys.size).toBeLessThanOrEqual(32);
    // Uniform ids: every segment holds about 1/SEGMENTS of them, so each growth copies about that share.
    const slots = keys.segmentSlots;
    expect(Math.max(...slots)).toBeLessThanOrEqual((2.5 * keys.bytes) / 18 / SEGMENTS);
  });

  it('+P1: releaseStep frees a failed step\u2019s ids only; another step may claim them, probing walks past the freed slots', () => {
    const keys = new RunKeys();
    for (let i = 0; i < 3000; i++) keys.claim(hostId(i), i % 2 === 0 ? 1 : 2);
    keys.releaseStep(2);
    expect(keys.size).toBe(1500);
    for (let i = 0; i < 3000; i++) expect(keys.stepOf(hostId(i))).toBe(i % 2 === 0 ? 1 : 0);
    for (let i = 1; i < 3000; i += 2) expect(keys.claim(hostId(i), 3)).toBe(0);
    for (let i = 0; i < 3000; i += 2) expect(keys.claim(hostId(i), 3)).toBe(1);
    expect(keys.size).toBe(3000);
  });

  it('a set of freed slots is rebuilt, not grown: claiming and freeing again and again keeps it small', () => {
    const keys = new RunKeys();
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 1000; i++) keys.claim(hostId(round * 1000 + i), 2);
      keys.releaseStep(2);
    }
    expect(keys.size).toBe(0);
    expect(keys.bytes).toBeLessThanOrEqual(SEGMENTS * 400 * 18);
  });

  it('release() drops the whole set: its memory is gone, and a later claim or lookup throws instead of answering', () => {
    const keys = new RunKeys();
    for (let i = 0; i < 10_000; i++) keys.claim(hostId(i), 1);
    expect(keys.bytes).toBeGreaterThan(0);
    keys.release();
    expect(keys.released).toBe(true);
    expect(keys.size).toBe(0);
    expect(keys.bytes).toBe(0);
    expect(() => keys.stepOf(hostId(1))).toThrow(/released when the run ended/);
    expect(() => keys.claim(hostId(1), 1)).toThrow(/released when the run ended/);
    expect(() => keys.releaseStep(1)).toThrow(/released when the run ended/);
    keys.release();
    expect(keys.released).toBe(true);
  });

  it('free() hands a table\u2019s memory back at once: a resizable buffer shrinks to 0 bytes, a plain one is detached (0 bytes here)', () => {
    const resizable = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(4096, { maxByteLength: 4096 });
    const plain = new ArrayBuffer(4096);
    free(resizable);
    free(plain);
    expect(resizable.byteLength).toBe(0);
    expect(plain.byteLength).toBe(0);
    free(plain);
    expect(plain.byteLength).toBe(0);
  });

  it('answers as a map from id to its first step, under any sequence of claims and step releases (model-based)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('claim' as const), id: fc.nat(400), step: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('release' as const), step: fc.integer({ min: 1, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const keys = new RunKeys();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'claim') {
            const first = model.get(o.id) ?? 0;
            if (first === 0) model.set(o.id, o.step);
            // Ids crowd into one segment half the time, to drive its growth.
            const id = o.id % 2 === 0 ? idIn(5, o.id) : hostId(o.id);
            expect(keys.claim(id, o.step)).toBe(first);
          } else {
            for (const [id, step] of model) if (step === o.step) model.delete(id);
            keys.releaseStep(o.step);
          }
        }
        expect(keys.size).toBe(model.size);
        for (let id = 0; id <= 400; id++) expect(keys.stepOf(id % 2 === 0 ? idIn(5, id) : hostId(id))).toBe(model.get(id) ?? 0);
      }),
      { numRuns: 60 },
    );
  });
});
