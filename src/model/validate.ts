import type { EntityData } from './entity.js';
import {
  MAX_ID_BYTES,
  MAX_ROW_BYTES,
  entityRowBytes,
  jsonTextBytes,
  propertyBytes,
  propertyCodeUnits,
  relationshipRowBytes,
  rowBytesBound,
} from './limits.js';
import type { RelationshipData } from './relationship.js';
import { NOT_UNICODE, propertyValueProblem, setProperty, wellFormedText, type Properties, type PropertyValue } from './values.js';
import { isKnownClass, isKnownVerb } from './vocabulary.js';

/** One problem with an emitted record, naming the field it is about. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
  /** Unknown class or verb: a warning unless the run is strict. */
  readonly vocabulary?: boolean;
  /** The row is over {@link MAX_ROW_BYTES}; `field` is its largest field. */
  readonly tooLarge?: boolean;
}

/** `properties.name`, or `properties["\ud800"]` (escaped) for a name that is not valid Unicode itself. */
const propertyField = (name: string): string => (wellFormedText(name) ? `properties.${name}` : `properties[${JSON.stringify(name)}]`);

function propertyProblems(properties: unknown, out: FieldProblem[]): void {
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) {
    out.push({ field: 'properties', message: 'must be an object of flat values' });
    return;
  }
  for (const [name, value] of Object.entries(properties)) {
    if (name === '') out.push({ field: 'properties', message: 'has an empty property name' });
    else if (!wellFormedText(name)) out.push({ field: propertyField(name), message: `has a name that ${NOT_UNICODE}` });
    const problem = propertyValueProblem(value);
    if (problem) out.push({ field: propertyField(name), message: problem });
  }
}

function wellFormed(value: unknown, field: string, out: FieldProblem[]): void {
  if (typeof value === 'string' && !wellFormedText(value)) out.push({ field, message: NOT_UNICODE });
}

function nonEmpty(value: unknown, field: string, out: FieldProblem[]): void {
  if (typeof value !== 'string' || value.length === 0) {
    out.push({ field, message: 'must be a non-empty string' });
  } else {
    wellFormed(value, field, out);
  }
}

const digits = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * Adds the size problem of a row that is otherwise valid (its properties are
 * measurable only then), naming its largest field: a text column (`columns`,
 * by field name) or one property.
 */
function sizeProblem(
  out: FieldProblem[],
  columns: readonly (readonly [field: string, text: string])[],
  properties: Readonly<Properties>,
  rowBytes: () => number,
): void {
  if (!out.every((p) => p.vocabulary)) return;
  let units = 0;
  for (const [, text] of columns) units += text.length;
  for (const name of Object.keys(properties)) units += propertyCodeUnits(name, properties[name]!);
  if (rowBytesBound(units) <= MAX_ROW_BYTES) return;
  const total = rowBytes();
  if (total <= MAX_ROW_BYTES) return;
  let field = '';
  let bytes = -1;
  const consider = (f: string, b: number): void => {
    if (b > bytes) [field, bytes] = [f, b];
  };
  for (const [f, text] of columns) consider(f, jsonTextBytes(text, 1));
  for (const name of Object.keys(properties)) consider(propertyField(name), propertyBytes(name, properties[name]!));
  out.push({
    field,
    message: `is ${digits(bytes)} bytes and makes the row ${digits(total)} bytes, over the limit of ${digits(MAX_ROW_BYTES)} bytes a row (MAX_ROW_BYTES, measured as JSON text)`,
    tooLarge: true,
  });
}

/** Every problem with an entity, in field order; empty when it is valid. */
export function entityProblems(data: EntityData): FieldProblem[] {
  const out: FieldProblem[] = [];
  nonEmpty(data.entityType, 'entityType', out);
  nonEmpty(data.entityKey, 'entityKey', out);
  if (typeof data.entityClass !== 'string' || data.entityClass.length === 0) {
    out.push({ field: 'entityClass', message: 'is missing; call .class(...)' });
  } else if (!wellFormedText(data.entityClass)) {
    out.push({ field: 'entityClass', message: NOT_UNICODE });
  } else if (!isKnownClass(data.entityClass)) {
    out.push({ field: 'entityClass', message: `"${data.entityClass}" is not a known class`, vocabulary: true });
  }
  if (typeof data.displayName !== 'string') out.push({ field: 'displayName', message: 'must be a string' });
  else wellFormed(data.displayName, 'displayName', out);
  propertyProblems(data.properties, out);
  const columns = [
    ['entityType', data.entityType],
    ['entityKey', data.entityKey],
    ['entityClass', data.entityClass],
    ['displayName', data.displayName],
  ] as const;
  sizeProblem(out, columns, data.properties, () => entityRowBytes(data));
  return out;
}

/** Every problem with a relationship, in field order; empty when it is valid. */
export function relationshipProblems(data: RelationshipData): FieldProblem[] {
  const out: FieldProblem[] = [];
  nonEmpty(data.fromType, 'fromType', out);
  nonEmpty(data.fromKey, 'fromKey', out);
  nonEmpty(data.verb, 'verb', out);
  if (typeof data.verb === 'string' && data.verb.length > 0 && wellFormedText(data.verb) && !isKnownVerb(data.verb)) {
    out.push({ field: 'verb', message: `"${data.verb}" is not a known verb`, vocabulary: true });
  }
  nonEmpty(data.toType, 'toType', out);
  nonEmpty(data.toKey, 'toKey', out);
  propertyProblems(data.properties, out);
  const columns = [
    ['fromType', data.fromType],
    ['fromKey', data.fromKey],
    ['verb', data.verb],
    ['toType', data.toType],
    ['toKey', data.toKey],
  ] as const;
  sizeProblem(out, columns, data.properties, () => relationshipRowBytes(data));
  return out;
}

/**
 * Why `value` cannot be an account, connector, sync or step id, or undefined
 * when it can: ids are stored beside every row, so they are text like the
 * rows' (non-empty, valid Unicode) and at most {@link MAX_ID_BYTES}.
 */
export function idProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  if (!wellFormedText(value)) return NOT_UNICODE;
  // Up to 3 UTF-8 bytes a code unit: only long ids need counting.
  if (value.length * 3 > MAX_ID_BYTES) {
    const bytes = new TextEncoder().encode(value).byteLength;
    if (bytes > MAX_ID_BYTES) return `is ${digits(bytes)} bytes, over the limit of ${digits(MAX_ID_BYTES)} (MAX_ID_BYTES)`;
  }
  return undefined;
}

// How errors quote text from a record: a few hundred characters at most
// (a key may be nearly MAX_ROW_BYTES), and lone surrogates escaped.
const QUOTED_CHARS = 200;
function quoted(value: unknown): string {
  // A connector's value may be anything: never call its toString.
  if (typeof value !== 'string') return `(${describeKind(value)})`;
  let text = value;
  if (text.length > QUOTED_CHARS) {
    let end = QUOTED_CHARS;
    const last = text.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end--; // never half a pair
    text = `${text.slice(0, end)}… (${digits(text.length - end)} more characters)`;
  }
  return wellFormedText(text) ? text : text.replace(/\p{Cs}/gu, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'missing';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return 'a bigint';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** `type:key`, the way errors name an entity (long text shortened). */
export function describeEntity(e: Pick<EntityData, 'entityType' | 'entityKey'>): string {
  return `${quoted(e.entityType)}:${quoted(e.entityKey)}`;
}

/** `fromType:fromKey VERB toType:toKey`, the way errors name a relationship (long text shortened). */
export function describeRelationship(r: Pick<RelationshipData, 'fromType' | 'fromKey' | 'verb' | 'toType' | 'toKey'>): string {
  return `${quoted(r.fromType)}:${quoted(r.fromKey)} ${quoted(r.verb)} ${quoted(r.toType)}:${quoted(r.toKey)}`;
}

// Fast checks for the hot path (prepareBatch): true only when the record has
// no problem other than vocabulary warnings, without allocating. A false
// answer only means "ask entityProblems/relationshipProblems", which stay the
// single source of the rules and of the messages.

function okText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && wellFormedText(value);
}

/** {@link propertyCodeUnits} of valid properties, or -1 when any is invalid. */
function okPropertyUnits(properties: unknown): number {
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return -1;
  const record = properties as Record<string, unknown>;
  let units = 0;
  for (const name of Object.keys(record)) {
    if (name === '' || !wellFormedText(name)) return -1;
    const value = record[name];
    if (typeof value === 'string') {
      if (!wellFormedText(value)) return -1;
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return -1;
    } else if (Array.isArray(value)) {
      for (const item of value as unknown[]) if (typeof item !== 'string' || !wellFormedText(item)) return -1;
    } else if (value !== null && typeof value !== 'boolean') {
      return -1;
    }
    units += propertyCodeUnits(name, value as PropertyValue);
  }
  return units;
}

/** True when {@link entityProblems} would report nothing but vocabulary warnings. */
export function entityLooksValid(data: EntityData): boolean {
  const { entityType, entityKey, entityClass, displayName } = data;
  if (!okText(entityType) || !okText(entityKey) || !okText(entityClass)) return false;
  if (typeof displayName !== 'string' || !wellFormedText(displayName)) return false;
  const units = okPropertyUnits(data.properties);
  if (units < 0) return false;
  const codeUnits = units + entityType.length + entityKey.length + entityClass.length + displayName.length;
  return rowBytesBound(codeUnits) <= MAX_ROW_BYTES || entityRowBytes(data) <= MAX_ROW_BYTES;
}

/** True when {@link relationshipProblems} would report nothing but vocabulary warnings. */
export function relationshipLooksValid(data: RelationshipData): boolean {
  const { fromType, fromKey, verb, toType, toKey } = data;
  if (!okText(fromType) || !okText(fromKey) || !okText(verb) || !okText(toType) || !okText(toKey)) return false;
  const units = okPropertyUnits(data.properties);
  if (units < 0) return false;
  const codeUnits = units + fromType.length + fromKey.length + verb.length + toType.length + toKey.length;
  return rowBytesBound(codeUnits) <= MAX_ROW_BYTES || relationshipRowBytes(data) <= MAX_ROW_BYTES;
}

/** A field of an emitted record whose getter or Proxy trap threw while the emit read it. */
export class UnreadableField extends Error {
  constructor(
    readonly field: string,
    cause: unknown,
  ) {
    super(`${field} could not be read: its getter or proxy threw`, { cause });
  }
}

/**
 * What an emit keeps of a connector's plain record: each field read once,
 * into objects the connector has no handle on, so a getter, a Proxy or a
 * change after the emit cannot make the stored row differ from the row
 * checked. Anything but an object is returned as is, for the checks to refuse.
 */
export function snapshotEntity(data: EntityData): EntityData {
  if (data === null || typeof data !== 'object') return data;
  let field = 'entity';
  try {
    field = 'entityType';
    const entityType = data.entityType;
    field = 'entityKey';
    const entityKey = data.entityKey;
    field = 'entityClass';
    const entityClass = data.entityClass;
    field = 'displayName';
    const displayName = data.displayName;
    field = 'properties';
    return { entityType, entityKey, entityClass, displayName, properties: snapshotProperties(data.properties) };
  } catch (error) {
    throw error instanceof UnreadableField ? error : new UnreadableField(field, error);
  }
}

/** {@link snapshotEntity} for a relationship. */
export function snapshotRelationship(data: RelationshipData): RelationshipData {
  if (data === null || typeof data !== 'object') return data;
  let field = 'relationship';
  try {
    field = 'fromType';
    const fromType = data.fromType;
    field = 'fromKey';
    const fromKey = data.fromKey;
    field = 'verb';
    const verb = data.verb;
    field = 'toType';
    const toType = data.toType;
    field = 'toKey';
    const toKey = data.toKey;
    field = 'properties';
    return { fromType, fromKey, verb, toType, toKey, properties: snapshotProperties(data.properties) };
  } catch (error) {
    throw error instanceof UnreadableField ? error : new UnreadableField(field, error);
  }
}

function snapshotProperties(properties: Readonly<Properties>): Properties {
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return properties;
  const copy: Record<string, unknown> = {};
  let name: string | undefined;
  try {
    for (name of Object.keys(properties)) setProperty(copy, name, properties[name]);
  } catch (error) {
    throw new UnreadableField(name === undefined ? 'properties' : propertyField(name), error);
  }
  return copy as Properties;
}
