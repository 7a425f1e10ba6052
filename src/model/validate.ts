import type { EntityData } from './entity.js';
import type { RelationshipData } from './relationship.js';
import { propertyValueProblem } from './values.js';
import { isKnownClass, isKnownVerb } from './vocabulary.js';

/** One problem with an emitted record, naming the field it is about. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
  /** Unknown class or verb: a warning unless the run is strict. */
  readonly vocabulary?: boolean;
}

function propertyProblems(properties: unknown, out: FieldProblem[]): void {
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) {
    out.push({ field: 'properties', message: 'must be an object of flat values' });
    return;
  }
  for (const [name, value] of Object.entries(properties)) {
    if (name === '') out.push({ field: 'properties', message: 'has an empty property name' });
    const problem = propertyValueProblem(value);
    if (problem) out.push({ field: `properties.${name}`, message: problem });
  }
}

// A lone UTF-16 surrogate is not Unicode: stores would silently turn it into
// U+FFFD, so two different keys could land on one row.
const LONE_SURROGATE = /\p{Cs}/u;

function wellFormed(value: unknown, field: string, out: FieldProblem[]): void {
  if (typeof value === 'string' && LONE_SURROGATE.test(value)) {
    out.push({ field, message: 'contains a lone surrogate and is not valid Unicode' });
  }
}

function nonEmpty(value: unknown, field: string, out: FieldProblem[]): void {
  if (typeof value !== 'string' || value.length === 0) {
    out.push({ field, message: 'must be a non-empty string' });
  } else {
    wellFormed(value, field, out);
  }
}

/** Every problem with an entity, in field order; empty when it is valid. */
export function entityProblems(data: EntityData): FieldProblem[] {
  const out: FieldProblem[] = [];
  nonEmpty(data.entityType, 'entityType', out);
  nonEmpty(data.entityKey, 'entityKey', out);
  if (typeof data.entityClass !== 'string' || data.entityClass.length === 0) {
    out.push({ field: 'entityClass', message: 'is missing; call .class(...)' });
  } else if (!isKnownClass(data.entityClass)) {
    out.push({ field: 'entityClass', message: `"${data.entityClass}" is not a known class`, vocabulary: true });
  }
  if (typeof data.displayName !== 'string') out.push({ field: 'displayName', message: 'must be a string' });
  else wellFormed(data.displayName, 'displayName', out);
  propertyProblems(data.properties, out);
  return out;
}

/** Every problem with a relationship, in field order; empty when it is valid. */
export function relationshipProblems(data: RelationshipData): FieldProblem[] {
  const out: FieldProblem[] = [];
  nonEmpty(data.fromType, 'fromType', out);
  nonEmpty(data.fromKey, 'fromKey', out);
  nonEmpty(data.verb, 'verb', out);
  if (typeof data.verb === 'string' && data.verb.length > 0 && !isKnownVerb(data.verb)) {
    out.push({ field: 'verb', message: `"${data.verb}" is not a known verb`, vocabulary: true });
  }
  nonEmpty(data.toType, 'toType', out);
  nonEmpty(data.toKey, 'toKey', out);
  propertyProblems(data.properties, out);
  return out;
}

/** `fromType:fromKey VERB toType:toKey`, the way errors name a relationship. */
export function describeRelationship(r: Pick<RelationshipData, 'fromType' | 'fromKey' | 'verb' | 'toType' | 'toKey'>): string {
  return `${r.fromType}:${r.fromKey} ${r.verb} ${r.toType}:${r.toKey}`;
}

// Fast checks for the hot path (prepareBatch): true only when the record has
// no problem other than vocabulary warnings, without allocating. A false
// answer only means "ask entityProblems/relationshipProblems", which stay the
// single source of the rules and of the messages.

function okText(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0 && !LONE_SURROGATE.test(value);
}

function okProperties(properties: unknown): boolean {
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return false;
  const record = properties as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (name === '') return false;
    const value = record[name];
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return false;
      continue;
    }
    if (!Array.isArray(value)) return false;
    for (const item of value as unknown[]) if (typeof item !== 'string') return false;
  }
  return true;
}

/** True when {@link entityProblems} would report nothing but vocabulary warnings. */
export function entityLooksValid(data: EntityData): boolean {
  return (
    okText(data.entityType) &&
    okText(data.entityKey) &&
    typeof data.entityClass === 'string' &&
    data.entityClass.length > 0 &&
    typeof data.displayName === 'string' &&
    !LONE_SURROGATE.test(data.displayName) &&
    okProperties(data.properties)
  );
}

/** True when {@link relationshipProblems} would report nothing but vocabulary warnings. */
export function relationshipLooksValid(data: RelationshipData): boolean {
  return (
    okText(data.fromType) &&
    okText(data.fromKey) &&
    okText(data.verb) &&
    okText(data.toType) &&
    okText(data.toKey) &&
    okProperties(data.properties)
  );
}
