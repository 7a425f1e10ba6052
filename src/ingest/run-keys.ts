/*
 * The ids a run has emitted, and which step emitted each: how a second
 * emission of the same (type, key) is refused across the whole run, and how
 * `ctx.prior.has` answers, without a JS object per row. An open-addressing
 * table over the 128-bit ids (4 words each, already uniformly distributed:
 * the first word picks the slot) and a 16-bit step number per slot: 18 bytes
 * a slot at a load of 3/8 to 3/4, about 24 to 48 bytes a row.
 */

/** A slot nobody claimed. */
const EMPTY = 0;
/** A slot whose step failed: its ids are free again, but probing goes on past it. */
const RELEASED = 0xffff;
/** Step numbers are 1 to this. */
export const MAX_RUN_STEPS = 0xfffe;

const MIN_CAPACITY = 1024;

export class RunKeys {
  #words = new Uint32Array(MIN_CAPACITY * 4);
  #steps = new Uint16Array(MIN_CAPACITY);
  #mask = MIN_CAPACITY - 1;
  /** Slots claimed or released: what probing has to walk past. */
  #used = 0;
  #live = 0;

  /** Ids claimed and not released. */
  get size(): number {
    return this.#live;
  }

  /**
   * Claims `id` (4 words) for step number `step` (1 to {@link MAX_RUN_STEPS}):
   * 0 when it was free, else the number of the step that claimed it first.
   */
  claim(id: ArrayLike<number>, step: number): number {
    if ((this.#used + 1) * 4 > (this.#mask + 1) * 3) this.#grow();
    const words = this.#words;
    const steps = this.#steps;
    const a = id[0]! >>> 0, b = id[1]! >>> 0, c = id[2]! >>> 0, d = id[3]! >>> 0;
    let slot = a & this.#mask;
    let free = -1;
    for (;;) {
      const owner = steps[slot]!;
      if (owner === EMPTY) break;
      if (owner === RELEASED) {
        if (free < 0) free = slot;
      } else {
        const at = slot << 2;
        if (words[at] === a && words[at + 1] === b && words[at + 2] === c && words[at + 3] === d) return owner;
      }
      slot = (slot + 1) & this.#mask;
    }
    if (free >= 0) slot = free;
    else this.#used++;
    const at = slot << 2;
    words[at] = a;
    words[at + 1] = b;
    words[at + 2] = c;
    words[at + 3] = d;
    steps[slot] = step;
    this.#live++;
    return 0;
  }

  /** The step number that claimed `id`, or 0. */
  stepOf(id: ArrayLike<number>): number {
    const words = this.#words;
    const steps = this.#steps;
    const a = id[0]! >>> 0, b = id[1]! >>> 0, c = id[2]! >>> 0, d = id[3]! >>> 0;
    for (let slot = a & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const owner = steps[slot]!;
      if (owner === EMPTY) return 0;
      if (owner === RELEASED) continue;
      const at = slot << 2;
      if (words[at] === a && words[at + 1] === b && words[at + 2] === c && words[at + 3] === d) return owner;
    }
  }

  /** Frees every id `step` claimed (a failed step's records count for nobody). */
  release(step: number): void {
    const steps = this.#steps;
    for (let slot = 0; slot < steps.length; slot++) {
      if (steps[slot] === step) {
        steps[slot] = RELEASED;
        this.#live--;
      }
    }
  }

  #grow(): void {
    const oldWords = this.#words;
    const oldSteps = this.#steps;
    // Double only when live ids need it; a table full of released slots is just rebuilt.
    const capacity = this.#live * 4 >= (this.#mask + 1) * 3 * 0.5 ? (this.#mask + 1) * 2 : this.#mask + 1;
    this.#words = new Uint32Array(capacity * 4);
    this.#steps = new Uint16Array(capacity);
    this.#mask = capacity - 1;
    this.#used = 0;
    this.#live = 0;
    const id = new Uint32Array(4);
    for (let slot = 0; slot < oldSteps.length; slot++) {
      const owner = oldSteps[slot]!;
      if (owner === EMPTY || owner === RELEASED) continue;
      id.set(oldWords.subarray(slot << 2, (slot << 2) + 4));
      this.claim(id, owner);
    }
  }
}
