/**
 * PQL's value semantics in JavaScript, for stores that evaluate a plan in
 * JS over their own indexes (memory, IndexedDB). The SQL store states the
 * same rules in SQL (`adapters/sql/query.ts`); the query contract suite
 * holds them equal.
 *
 * - A missing property and a null one are alike: they equal nothing (not
 *   even `null`), `!=` is true, `<`/`>`/LIKE/IN are false, EXISTS is false.
 * - Types are strict: `'5'` does not equal `5`, `true` does not equal `1`.
 * - A string array `=` a string means it contains it; LIKE matches when an
 *   item does; `<`/`>` are false for arrays.
 * - `<`, `<=`, `>`, `>=` compare numbers with numbers and strings with
 *   strings (by code point, as SQLite's BINARY collation).
 * - LIKE is SQL's, case-sensitive: `%` any run, `_` one character, the
 *   escape character (default `\`) makes the next one literal.
 */
import type { PropertyValue } from '../model/values.js';
import type { StoredEntity } from '../store/types.js';
import type { PqlValue } from './ast.js';
import type { PlanCondition, PlanField, PlanFilter, PlanNode } from './plan.js';

/** A field's value on an entity; undefined when the property is missing. */
export function fieldValue(entity: StoredEntity, field: PlanField): PropertyValue | undefined {
  if (field.kind === 'builtin') return entity[field.field];
  return Object.hasOwn(entity.properties, field.name) ? entity.properties[field.name] : undefined;
}

/** Code point order (UTF-8 byte order, as SQLite compares text). */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function equals(value: PropertyValue, literal: PqlValue): boolean {
  if (literal === null || value === null) return false;
  if (Array.isArray(value)) return typeof literal === 'string' && value.includes(literal);
  return typeof value === typeof literal && value === literal;
}

function ordered(value: PropertyValue, literal: PqlValue, op: '<' | '<=' | '>' | '>='): boolean {
  let cmp: number;
  if (typeof value === 'number' && typeof literal === 'number') cmp = value < literal ? -1 : value > literal ? 1 : 0;
  else if (typeof value === 'string' && typeof literal === 'string') cmp = compareText(value, literal);
  else return false;
  return op === '<' ? cmp < 0 : op === '<=' ? cmp <= 0 : op === '>' ? cmp > 0 : cmp >= 0;
}

const likeCache = new Map<string, RegExp>();

/** SQL LIKE as a regular expression over code points. */
export function likeRegExp(pattern: string, escape: string): RegExp {
  const key = `${escape}\0${pattern}`;
  let re = likeCache.get(key);
  if (!re) {
    let source = '';
    const chars = [...pattern];
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (c === escape && i + 1 < chars.length) source += escapeRegExp(chars[++i]!);
      else if (c === '%') source += '[\\s\\S]*';
      else if (c === '_') source += '.';
      else source += escapeRegExp(c);
    }
    re = new RegExp(`^${source}$`, 'su');
    if (likeCache.size > 1000) likeCache.clear();
    likeCache.set(key, re);
  }
  return re;
}

const escapeRegExp = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** Whether an entity satisfies a condition (two-valued: every condition is true or false). */
export function matchesCondition(entity: StoredEntity, condition: PlanCondition): boolean {
  switch (condition.kind) {
    case 'compare': {
      const value = fieldValue(entity, condition.field);
      if (value === undefined || value === null) return condition.op === '!=';
      if (condition.op === '=') return equals(value, condition.value);
      if (condition.op === '!=') return !equals(value, condition.value);
      return ordered(value, condition.value, condition.op);
    }
    case 'in': {
      const value = fieldValue(entity, condition.field);
      return value !== undefined && condition.values.some((v) => equals(value, v));
    }
    case 'like': {
      const value = fieldValue(entity, condition.field);
      const re = likeRegExp(condition.pattern, condition.escape);
      if (typeof value === 'string') return re.test(value);
      return Array.isArray(value) && value.some((item) => re.test(item));
    }
    case 'exists': {
      const value = fieldValue(entity, condition.field);
      return value !== undefined && value !== null;
    }
    case 'not':
      return !matchesCondition(entity, condition.condition);
    case 'and':
      return condition.conditions.every((c) => matchesCondition(entity, c));
    case 'or':
      return condition.conditions.some((c) => matchesCondition(entity, c));
  }
}

export function matchesFilter(entity: StoredEntity, filter: PlanFilter): boolean {
  return filter.kind === 'any' || entity.entityType === filter.name || (filter.orClass && entity.entityClass === filter.name);
}

export function matchesNode(entity: StoredEntity, node: PlanNode): boolean {
  return matchesFilter(entity, node.filter) && (node.where === undefined || matchesCondition(entity, node.where));
}

/** A group's value: a property's value, an array's items one by one; missing, null and `[]` are the null group. */
export type GroupValue = string | number | boolean | null;

export function groupValues(entity: StoredEntity, field: PlanField): GroupValue[] {
  const value = fieldValue(entity, field);
  if (value === undefined || value === null) return [null];
  if (Array.isArray(value)) return value.length === 0 ? [null] : [...new Set(value)];
  return [value];
}

const kindRank = (v: GroupValue): number => (typeof v === 'boolean' ? 0 : typeof v === 'number' ? 1 : typeof v === 'string' ? 2 : 3);

/** The order of groups every store gives: most entities first, then booleans, numbers, strings, null, each by value. */
export function compareGroups(a: { value: GroupValue; count: number }, b: { value: GroupValue; count: number }): number {
  if (a.count !== b.count) return b.count - a.count;
  const ka = kindRank(a.value);
  const kb = kindRank(b.value);
  if (ka !== kb) return ka - kb;
  if (typeof a.value === 'string') return compareText(a.value, b.value as string);
  if (typeof a.value === 'number' || typeof a.value === 'boolean') return Number(a.value) - Number(b.value);
  return 0;
}
