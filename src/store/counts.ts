import type { GraphCounts } from './types.js';

/**
 * A {@link GraphCounts} from `[name, count]` pairs, repeats summed, totals
 * derived. The records have no prototype: a class or verb named `__proto__`
 * or `constructor` is data like any other, and `JSON.stringify` keeps it.
 *
 * @example
 * graphCounts([['Host', 2], ['User', 1], ['Host', 1]], [['HAS', 4]]);
 * // { entities: 4, relationships: 4, entitiesByClass: { Host: 3, User: 1 }, relationshipsByVerb: { HAS: 4 } }
 */
export function graphCounts(byClass: Iterable<readonly [string, number]>, byVerb: Iterable<readonly [string, number]>): GraphCounts {
  const [entitiesByClass, entities] = tally(byClass);
  const [relationshipsByVerb, relationships] = tally(byVerb);
  return { entities, relationships, entitiesByClass, relationshipsByVerb };
}

function tally(pairs: Iterable<readonly [string, number]>): [Record<string, number>, number] {
  const out = Object.create(null) as Record<string, number>;
  let total = 0;
  for (const [name, n] of pairs) {
    out[name] = (out[name] ?? 0) + n;
    total += n;
  }
  return [out, total];
}
