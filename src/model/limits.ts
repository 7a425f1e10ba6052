import type { EntityData } from './entity.js';
import type { RelationshipData } from './relationship.js';
import type { PropertyValue } from './values.js';

/*
 * Size limits, checked in the core before any store is touched: when a step
 * emits a record (`ctx.emitEntity` refuses it) and when a batch is prepared
 * (`prepareBatch` throws `CommitError` `RowTooLarge`), so every store refuses
 * the same rows the same way.
 *
 * Why these numbers: D1 refuses any value or row over 2 MB (SQLITE_TOOBIG),
 * and the SQL stores bind each row as JSON text, where text grows: a control
 * character takes 6 bytes as JSON, and the properties JSON, itself a string,
 * is escaped once more. So a row is measured as JSON text, and may take half
 * of D1's limit: stored or bound, with its ids and source beside it, it fits.
 */

/**
 * The most bytes one entity or relationship may take, measured as JSON text:
 * the UTF-8 length of `JSON.stringify([type, key, class, displayName, propertiesJson])`
 * for an entity, of `JSON.stringify([fromType, fromKey, verb, toType, toKey, propertiesJson])`
 * for a relationship, where `propertiesJson` is the canonical properties JSON
 * (`canonicalProperties`). Plain text counts about one byte a character; a
 * quote or backslash in a property value counts 4, a control character up to 7.
 *
 * @example
 * // A document body of 2.5 MB is refused, naming the field:
 * ctx.emitEntity(entity('doc', 'd-1').class('File').property('body', body)).error?.field; // 'properties.body'
 */
export const MAX_ROW_BYTES = 1_000_000;

/**
 * The most UTF-8 bytes of an account, connector, sync or step id: each is
 * stored beside every row it wrote.
 */
export const MAX_ID_BYTES = 1_000;

const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/**
 * UTF-8 bytes of `text` as a JSON string literal, quotes included, escaped
 * once (`depth` 1: a text column) or twice (`depth` 2: text inside the
 * properties JSON, which is itself a string).
 */
export function jsonTextBytes(text: string, depth: 1 | 2): number {
  let bytes = 2 * depth;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0x22 || c === 0x5c) bytes += 2 * depth; // \"  then  \\\"
      else if (c >= 0x20) bytes += 1;
      else if (c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) bytes += 1 + depth; // \n  then  \\n
      else bytes += 5 + depth; // \u0001  then  \\u0001
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      bytes += 5 + depth; // a lone surrogate: \ud800
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

/** Bytes one property adds to the canonical properties JSON as a string: `"name":value`, twice escaped. */
export function propertyBytes(name: string, value: PropertyValue): number {
  return jsonTextBytes(name, 2) + 1 + valueBytes(value);
}

function valueBytes(value: PropertyValue): number {
  if (value === null) return 4;
  if (typeof value === 'string') return jsonTextBytes(value, 2);
  if (typeof value === 'number') return String(value).length;
  if (typeof value === 'boolean') return value ? 4 : 5;
  let bytes = 2 + Math.max(0, value.length - 1);
  for (const item of value) bytes += jsonTextBytes(item, 2);
  return bytes;
}

function propertiesBytes(properties: Readonly<Record<string, PropertyValue>>): number {
  const names = Object.keys(properties);
  let bytes = 4 + Math.max(0, names.length - 1); // "{" "}" and commas, quoted
  for (const name of names) bytes += propertyBytes(name, properties[name]!);
  return bytes;
}

/** `[`, `]`, and each text column with the comma after it. */
const textColumns = (texts: readonly string[]): number => texts.reduce((n, text) => n + jsonTextBytes(text, 1) + 1, 2);

/** {@link MAX_ROW_BYTES}' measure of a valid entity. */
export function entityRowBytes(e: EntityData): number {
  return textColumns([e.entityType, e.entityKey, e.entityClass, e.displayName]) + propertiesBytes(e.properties);
}

/** {@link MAX_ROW_BYTES}' measure of a valid relationship. */
export function relationshipRowBytes(r: RelationshipData): number {
  return textColumns([r.fromType, r.fromKey, r.verb, r.toType, r.toKey]) + propertiesBytes(r.properties);
}

/**
 * A weight of one valid property such that 7 bytes a unit bound its share of
 * the measure: its text (no UTF-16 code unit takes more than 7 bytes) plus
 * enough units for its JSON syntax (quotes, colon, comma, a number's digits).
 */
export function propertyCodeUnits(name: string, value: PropertyValue): number {
  let units = name.length + 5;
  if (typeof value === 'string') units += value.length;
  else if (typeof value === 'number') units += 4;
  else if (Array.isArray(value)) for (const item of value) units += item.length + 1;
  else units += 1;
  return units;
}

/** An upper bound on the measure of a row of `codeUnits` (text columns' lengths plus {@link propertyCodeUnits}). */
export const rowBytesBound = (codeUnits: number): number => 7 * codeUnits + 64;
