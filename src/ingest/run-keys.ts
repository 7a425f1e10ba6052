/*
 * The ids a run has emitted, and which step emitted each: how a second
 * emission of the same (type, key) is refused across the whole run, and how
 * `ctx.prior.has` answers, without a JS object per row. The full 128-bit ids
 * (4 words, already uniformly distributed) are kept in SEGMENTS independent
 * open-addressing tables, picked by the top bits of the second word; the
 * first word picks the slot within one. 16 bytes of id and a 16-bit step
 * number a slot, at a load of 0.64 to 0.8: about 22 to 28 bytes a row.
 *
 * Why segments: a segment grows on its own, so growing copies 1/SEGMENTS of
 * the set and the old and new tables live side by side only for that
 * segment, not for the whole set. Where the runtime has resizable
 * ArrayBuffers, a big table's memory is returned the moment it is replaced
 * or {@link RunKeys.release}d, instead of at the next full garbage
 * collection (which, in a CLI sync, comes after the commit's peak): the
 * 25-30 MB of a 1M-row run go back before its commit.
 */

/** A slot nobody claimed. */
const EMPTY = 0;
/** A slot whose step failed: its ids are free again, but probing goes on past it. */
const RELEASED = 0xffff;
/** Step numbers are 1 to this. */
export const MAX_RUN_STEPS = 0xfffe;

/** Segments, picked by the top SEGMENT_BITS of an id's second word. */
export const SEGMENT_BITS = 6;
const SEGMENTS = 1 << SEGMENT_BITS;
const MIN_SEGMENT_SLOTS = 256;
/** Grow a segment past this load (used slots / slots)... */
const MAX_LOAD = 0.8;
/** ...by this factor: small steps keep the load from 0.64 to 0.8; each growth copies one segment. */
const GROWTH = 1.25;
/** The slot of word `a` in `slots` slots (a fast range reduction; the top 21 bits of `a` times `slots` stays exact). */
const slotOf = (a: number, slots: number): number => (((a >>> 11) * slots) / 2_097_152) | 0;

type ResizableArrayBufferConstructor = new (bytes: number, options: { maxByteLength: number }) => ArrayBuffer;
const RESIZABLE = typeof (ArrayBuffer.prototype as { resize?: unknown }).resize === 'function';

/**
 * Tables from this size are resizable (where the runtime allows), so that
 * {@link free} returns their memory at once: in a big run they hold nearly
 * all of the set. Smaller ones are plain: a resizable buffer costs several
 * times as much to allocate (measured in Node 20), and a segment is
 * allocated again at every growth.
 */
const RESIZABLE_BYTES = 256 * 1024;

function storage(bytes: number): ArrayBuffer {
  return RESIZABLE && bytes >= RESIZABLE_BYTES ? new (ArrayBuffer as ResizableArrayBufferConstructor)(bytes, { maxByteLength: bytes }) : new ArrayBuffer(bytes);
}

/**
 * Hands a table's memory back without waiting for a full garbage
 * collection (a run's last one may come long after its commit): a
 * resizable buffer shrinks to nothing now; another is detached by a
 * transfer, and the clone holding its memory is garbage at once, for the
 * next minor collection.
 */
export function free(buffer: ArrayBuffer): void {
  if (buffer.byteLength === 0) return;
  if ((buffer as { resizable?: boolean }).resizable) {
    (buffer as ArrayBuffer & { resize(bytes: number): void }).resize(0);
    return;
  }
  try {
    structuredClone(buffer, { transfer: [buffer] });
  } catch {
    /* not transferable here: the garbage collector frees it later */
  }
}

/** One open-addressing table: ids (4 words a slot) and, in the same buffer, the step numbers. */
class Segment {
  readonly buffer: ArrayBuffer;
  readonly words: Uint32Array;
  readonly steps: Uint16Array;
  readonly slots: number;
  /** Slots claimed or released: what probing has to walk past. */
  used = 0;
  live = 0;

  constructor(slots: number) {
    this.slots = slots;
    this.buffer = storage(slots * 18);
    this.words = new Uint32Array(this.buffer, 0, slots * 4);
    this.steps = new Uint16Array(this.buffer, slots * 16, slots);
  }

  get full(): boolean {
    return this.used + 1 > this.slots * MAX_LOAD;
  }

  /** Claims the id for `step` (see {@link RunKeys.claim}); the caller made room. */
  claim(a: number, b: number, c: number, d: number, step: number): number {
    const { words, steps, slots } = this;
    let slot = slotOf(a, slots);
    let reuse = -1;
    for (;;) {
      const owner = steps[slot]!;
      if (owner === EMPTY) break;
      if (owner === RELEASED) {
        if (reuse < 0) reuse = slot;
      } else {
        const at = slot << 2;
        if (words[at] === a && words[at + 1] === b && words[at + 2] === c && words[at + 3] === d) return owner;
      }
      if (++slot === slots) slot = 0;
    }
    if (reuse >= 0) slot = reuse;
    else this.used++;
    const at = slot << 2;
    words[at] = a;
    words[at + 1] = b;
    words[at + 2] = c;
    words[at + 3] = d;
    steps[slot] = step;
    this.live++;
    return 0;
  }

  stepOf(a: number, b: number, c: number, d: number): number {
    const { words, steps, slots } = this;
    for (let slot = slotOf(a, slots); ; ) {
      const owner = steps[slot]!;
      if (owner === EMPTY) return 0;
      if (owner !== RELEASED) {
        const at = slot << 2;
        if (words[at] === a && words[at + 1] === b && words[at + 2] === c && words[at + 3] === d) return owner;
      }
      if (++slot === slots) slot = 0;
    }
  }

  release(step: number): void {
    const steps = this.steps;
    for (let slot = 0; slot < steps.length; slot++) {
      if (steps[slot] === step) {
        steps[slot] = RELEASED;
        this.live--;
      }
    }
  }

  /** A table with room for one more id, holding the live ids of this one (this one is freed). */
  grown(): Segment {
    // Grow only when live ids need it; a segment full of released slots is just rebuilt.
    const slots = this.live + 1 > this.slots * MAX_LOAD * 0.5 ? Math.ceil(this.slots * GROWTH) : this.slots;
    const next = new Segment(slots);
    const { words, steps } = this;
    for (let slot = 0; slot < this.slots; slot++) {
      const owner = steps[slot]!;
      if (owner === EMPTY || owner === RELEASED) continue;
      const at = slot << 2;
      next.claim(words[at]!, words[at + 1]!, words[at + 2]!, words[at + 3]!, owner);
    }
    free(this.buffer);
    return next;
  }
}

/**
 * The run's compact id set: claim an id for a step, ask which step claimed
 * it, free a failed step's ids, and {@link release} the whole set once the
 * run no longer reads it.
 */
export class RunKeys {
  /** Created on the first id they get. */
  #segments: (Segment | undefined)[] | undefined = new Array<Segment | undefined>(SEGMENTS).fill(undefined);
  #live = 0;

  /** Ids claimed and not freed. */
  get size(): number {
    return this.#live;
  }

  /** Bytes the tables take (for tests and reports). */
  get bytes(): number {
    let bytes = 0;
    for (const segment of this.#segments ?? []) if (segment) bytes += segment.slots * 18;
    return bytes;
  }

  /** Slots of each segment (0 where none was created), in segment order: how the set grew. */
  get segmentSlots(): number[] {
    return (this.#segments ?? []).map((segment) => segment?.slots ?? 0);
  }

  /**
   * Claims `id` (4 words) for step number `step` (1 to {@link MAX_RUN_STEPS}):
   * 0 when it was free, else the number of the step that claimed it first.
   */
  claim(id: ArrayLike<number>, step: number): number {
    const segments = this.#open();
    const a = id[0]! >>> 0, b = id[1]! >>> 0, c = id[2]! >>> 0, d = id[3]! >>> 0;
    const index = b >>> (32 - SEGMENT_BITS);
    let segment = segments[index];
    if (!segment) segment = segments[index] = new Segment(MIN_SEGMENT_SLOTS);
    else if (segment.full) segment = segments[index] = segment.grown();
    const owner = segment.claim(a, b, c, d, step);
    if (owner === 0) this.#live++;
    return owner;
  }

  /** The step number that claimed `id`, or 0. */
  stepOf(id: ArrayLike<number>): number {
    const b = id[1]! >>> 0;
    const segment = this.#open()[b >>> (32 - SEGMENT_BITS)];
    return segment ? segment.stepOf(id[0]! >>> 0, b, id[2]! >>> 0, id[3]! >>> 0) : 0;
  }

  /** Frees every id `step` claimed (a failed step's records count for nobody). */
  releaseStep(step: number): void {
    for (const segment of this.#open()) {
      if (!segment) continue;
      const before = segment.live;
      segment.release(step);
      this.#live -= before - segment.live;
    }
  }

  /**
   * Drops the whole set and returns its memory: the run has ended and
   * nothing reads its ids any more (the commit needs none). Any later call
   * but `release` throws.
   */
  release(): void {
    for (const segment of this.#segments ?? []) if (segment) free(segment.buffer);
    this.#segments = undefined;
    this.#live = 0;
  }

  /** Has {@link release} run? */
  get released(): boolean {
    return this.#segments === undefined;
  }

  #open(): (Segment | undefined)[] {
    if (!this.#segments) throw new Error("the run's id set was released when the run ended: no id can be claimed or looked up after it");
    return this.#segments;
  }
}
