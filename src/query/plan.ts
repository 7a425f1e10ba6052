/**
 * The store-neutral query plan: the syntax tree with its names resolved (a
 * filter is a type, or a type or class; a property is a built-in field or a
 * flat property; verbs are the stored upper-case verbs) and defaults filled
 * in. A store's `query(plan, context)` evaluates it; the memory store's
 * evaluator (`adapters/memory-query.ts`) is the reference semantics.
 */
import { isKnownClass } from '../model/vocabulary.js';
import type { CompareOp, PqlCondition, PqlDirection, PqlNode, PqlQuery, PqlValue } from './ast.js';

/** The entity fields that `_type`, `_class`, `_key`, `_id`, `_display_name`, `_connector` and `_account` address. */
export type BuiltinField = 'id' | 'entityType' | 'entityClass' | 'entityKey' | 'displayName' | 'connectorId' | 'accountId';

export const BUILTIN_FIELDS: Readonly<Record<string, BuiltinField>> = {
  _id: 'id',
  _type: 'entityType',
  _class: 'entityClass',
  _key: 'entityKey',
  _display_name: 'displayName',
  _connector: 'connectorId',
  _account: 'accountId',
};

export type PlanField = { readonly kind: 'builtin'; readonly field: BuiltinField } | { readonly kind: 'property'; readonly name: string };

export type PlanCondition =
  | { readonly kind: 'compare'; readonly field: PlanField; readonly op: CompareOp; readonly value: PqlValue }
  | { readonly kind: 'in'; readonly field: PlanField; readonly values: readonly PqlValue[] }
  | { readonly kind: 'like'; readonly field: PlanField; readonly pattern: string; readonly escape: string }
  | { readonly kind: 'exists'; readonly field: PlanField }
  | { readonly kind: 'not'; readonly condition: PlanCondition }
  | { readonly kind: 'and'; readonly conditions: readonly PlanCondition[] }
  | { readonly kind: 'or'; readonly conditions: readonly PlanCondition[] };

/** `*` (every entity) or a name: the entity type, or also the class when the name is a known class. */
export type PlanFilter = { readonly kind: 'any' } | { readonly kind: 'named'; readonly name: string; readonly orClass: boolean };

export interface PlanNode {
  readonly filter: PlanFilter;
  readonly where?: PlanCondition;
}

export interface PlanStep {
  /** `!VERB`: the current entity has no such relationship; the chain goes on from the same entity. */
  readonly negated: boolean;
  /** Undefined for `RELATES TO`: any verb. */
  readonly verb?: string;
  readonly direction: PqlDirection;
  readonly target: PlanNode;
}

export type FindOutput =
  | { readonly kind: 'entities' }
  | { readonly kind: 'count' }
  | { readonly kind: 'groups'; readonly field: PlanField }
  | { readonly kind: 'rows'; readonly columns: readonly { readonly name: string; readonly field: PlanField }[] };

export interface FindPlan {
  readonly kind: 'find';
  readonly start: PlanNode;
  readonly steps: readonly PlanStep[];
  readonly output: FindOutput;
  /** The query's LIMIT: at most this many matches (in id order), or groups. */
  readonly limit?: number;
}

export interface PathPlan {
  readonly kind: 'path';
  readonly from: PlanNode;
  readonly to: PlanNode;
  readonly depth: number;
}

export interface BlastPlan {
  readonly kind: 'blast';
  readonly from: PlanNode;
  readonly depth: number;
}

export type QueryPlan = FindPlan | PathPlan | BlastPlan;

export const DEFAULT_PATH_DEPTH = 6;
export const DEFAULT_BLAST_DEPTH = 4;

const field = (name: string): PlanField => (Object.hasOwn(BUILTIN_FIELDS, name) ? { kind: 'builtin', field: BUILTIN_FIELDS[name]! } : { kind: 'property', name });

function condition(c: PqlCondition): PlanCondition {
  switch (c.kind) {
    case 'compare':
      return { kind: 'compare', field: field(c.property), op: c.op, value: c.value };
    case 'in':
      return { kind: 'in', field: field(c.property), values: c.values };
    case 'like':
      return { kind: 'like', field: field(c.property), pattern: c.pattern, escape: c.escape };
    case 'exists':
      return { kind: 'exists', field: field(c.property) };
    case 'not':
      return { kind: 'not', condition: condition(c.condition) };
    case 'and':
    case 'or':
      return { kind: c.kind, conditions: c.conditions.map(condition) };
  }
}

function node(n: PqlNode): PlanNode {
  const filter: PlanFilter = n.filter === '*' ? { kind: 'any' } : { kind: 'named', name: n.filter, orClass: isKnownClass(n.filter) };
  return n.where ? { filter, where: condition(n.where) } : { filter };
}

/** Resolves a parsed query into the plan stores evaluate. */
export function planQuery(query: PqlQuery): QueryPlan {
  switch (query.kind) {
    case 'path':
      return { kind: 'path', from: node(query.from), to: node(query.to), depth: query.depth ?? DEFAULT_PATH_DEPTH };
    case 'blast':
      return { kind: 'blast', from: node(query.from), depth: query.depth ?? DEFAULT_BLAST_DEPTH };
    case 'find': {
      const output: FindOutput =
        query.groupBy !== undefined
          ? { kind: 'groups', field: field(query.groupBy) }
          : query.return?.kind === 'count'
            ? { kind: 'count' }
            : query.return?.kind === 'properties'
              ? { kind: 'rows', columns: query.return.properties.map((name) => ({ name, field: field(name) })) }
              : { kind: 'entities' };
      return {
        kind: 'find',
        start: node(query.start),
        steps: query.steps.map((s) => ({ negated: s.negated, ...(s.verb ? { verb: s.verb } : {}), direction: s.direction, target: node(s.target) })),
        output,
        ...(query.limit === undefined ? {} : { limit: query.limit }),
      };
    }
  }
}

/** Every node of a plan, for the scanned limit (each counts the entities its filter matches). */
export function planNodes(plan: QueryPlan): PlanNode[] {
  switch (plan.kind) {
    case 'find':
      return [plan.start, ...plan.steps.map((s) => s.target)];
    case 'path':
      return [plan.from, plan.to];
    case 'blast':
      return [plan.from];
  }
}
