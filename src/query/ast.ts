/**
 * The typed syntax tree {@link parsePql} returns: what the query says, names
 * as written (a filter is not yet a type or a class, a property not yet a
 * built-in field); the planner (`plan.ts`) resolves them.
 */
import type { KnownVerb } from '../model/vocabulary.js';

/** A literal in a condition. */
export type PqlValue = string | number | boolean | null;

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type PqlCondition =
  | { readonly kind: 'compare'; readonly property: string; readonly op: CompareOp; readonly value: PqlValue }
  | { readonly kind: 'in'; readonly property: string; readonly values: readonly PqlValue[] }
  /** SQL's LIKE: `%` any run, `_` one character, `escape` (default `\`) makes the next one literal. */
  | { readonly kind: 'like'; readonly property: string; readonly pattern: string; readonly escape: string }
  | { readonly kind: 'exists'; readonly property: string }
  | { readonly kind: 'not'; readonly condition: PqlCondition }
  | { readonly kind: 'and'; readonly conditions: readonly PqlCondition[] }
  | { readonly kind: 'or'; readonly conditions: readonly PqlCondition[] };

/** `host WITH os = 'linux'`: `filter` is `*`, an entity type or a class name. */
export interface PqlNode {
  readonly filter: string;
  readonly where?: PqlCondition;
}

/**
 * Which way a step's relationship points: `both` (the default: either way),
 * `out` (`VERB ->`: from the current entity to the target) or `in`
 * (`VERB <-`: from the target to the current entity).
 */
export type PqlDirection = 'both' | 'out' | 'in';

/** `THAT [!]VERB [-> | <-] filter [WITH ...]`; `verb` undefined is `RELATES TO` (any verb). */
export interface PqlStep {
  readonly negated: boolean;
  readonly verb: KnownVerb | undefined;
  readonly direction: PqlDirection;
  readonly target: PqlNode;
}

export type PqlReturn = { readonly kind: 'count' } | { readonly kind: 'properties'; readonly properties: readonly string[] };

export interface PqlFind {
  readonly kind: 'find';
  readonly start: PqlNode;
  readonly steps: readonly PqlStep[];
  readonly groupBy?: string;
  readonly return?: PqlReturn;
  readonly limit?: number;
}

export interface PqlPath {
  readonly kind: 'path';
  readonly from: PqlNode;
  readonly to: PqlNode;
  readonly depth?: number;
}

export interface PqlBlast {
  readonly kind: 'blast';
  readonly from: PqlNode;
  readonly depth?: number;
}

export type PqlQuery = PqlFind | PqlPath | PqlBlast;
