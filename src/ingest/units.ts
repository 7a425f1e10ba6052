import type { EntityData } from '../model/entity.js';
import { sha256Hex } from '../model/ids.js';
import { propertiesText } from '../model/values.js';
import type { RelationshipData } from '../model/relationship.js';
import type { RecordKind } from '../store/types.js';

/*
 * A sync re-emits most of what the scope holds; recognising that before any
 * row is prepared is what makes an unchanged re-sync cheap (+P2). Records
 * are grouped into units: runs of consecutive records of one kind from one
 * step, ended after a record whose id has its low bits zero (so an inserted
 * or removed record only changes the unit it falls in, not every unit after
 * it), after MAX_UNIT_RECORDS, and at the end of a page or step. A unit's
 * digest (its input digest) is SHA-256 over the JSON of exactly what
 * preparing its rows reads (their text fields, and their properties' JSON
 * as emitted: equal texts mean equal properties, and the sorted canonical
 * text is made only for units that are prepared), so an equal digest means
 * equal prepared rows:
 * a unit that the scope stored last time with the same digest is matched,
 * and nothing of it is prepared, staged or written.
 */

/**
 * Records a unit holds on average unless the store says otherwise
 * (`SyncSession.unitRecords`): a unit ends after a record whose id's first
 * word has its low bits, `unitRecords - 1`, zero.
 */
export const DEFAULT_UNIT_RECORDS = 32;
export const MAX_UNIT_RECORDS = 256;
/** Bumped whenever preparing derives anything differently: a stored digest of another version never matches. */
const VERSION = 'parallax-edge unit 3';

/** The records of one open unit, with their ids (4 words each) and properties text. */
export class UnitBuffer<R extends EntityData | RelationshipData> {
  readonly records: R[] = [];
  readonly ids = new Uint32Array(MAX_UNIT_RECORDS * 4);
  /** Each record's {@link propertiesText}: digested here, and the canonical text is made from it when the unit is prepared. */
  readonly properties: string[] = [];
  /** The digest's lines: the header, then each record's {@link recordJson}. */
  #texts: string[];
  readonly #endMask: number;

  constructor(
    readonly kind: RecordKind,
    /** JSON of the scope, step and kind, the first line of every digest. */
    private readonly header: string,
    /** A power of two from 1 to {@link MAX_UNIT_RECORDS} ({@link unitRecordsOf}). */
    unitRecords = DEFAULT_UNIT_RECORDS,
  ) {
    this.#endMask = unitRecordsOf(unitRecords) - 1;
    this.#texts = [header];
  }

  get length(): number {
    return this.records.length;
  }

  /** Adds a validated record and its id; true when the unit ends with it. */
  add(record: R, id: ArrayLike<number>): boolean {
    const index = this.records.length;
    this.records.push(record);
    const at = index * 4;
    this.ids[at] = id[0]!;
    this.ids[at + 1] = id[1]!;
    this.ids[at + 2] = id[2]!;
    this.ids[at + 3] = id[3]!;
    const properties = propertiesText(record.properties);
    this.properties.push(properties);
    this.#texts.push(recordJson(this.kind, record, properties));
    return (id[0]! & this.#endMask) === 0 || index + 1 === MAX_UNIT_RECORDS;
  }

  /** The unit's input digest. */
  digest(): string {
    // One join: the text is flat once, as hashing needs it (an empty unit's text is the header and a newline).
    return sha256Hex(this.#texts.length === 1 ? `${this.header}\n` : this.#texts.join('\n'));
  }

  /** Empties the buffer for the next unit. */
  clear(): void {
    this.records.length = 0;
    this.properties.length = 0;
    this.#texts = [this.header];
  }
}

/**
 * `unitRecords` checked: a power of two from 1 to {@link MAX_UNIT_RECORDS}.
 * Where units end never changes what a digest means (it covers exactly
 * its unit's records), so stores may choose differently.
 */
export function unitRecordsOf(unitRecords: number): number {
  if (!Number.isInteger(unitRecords) || unitRecords < 1 || unitRecords > MAX_UNIT_RECORDS || (unitRecords & (unitRecords - 1)) !== 0) {
    throw new RangeError(`unitRecords must be a power of two from 1 to ${MAX_UNIT_RECORDS}, got ${String(unitRecords)}`);
  }
  return unitRecords;
}

/** The first line of a unit's digest input. */
export function unitHeader(accountId: string, connectorId: string, stepId: string, kind: RecordKind): string {
  return JSON.stringify([VERSION, accountId, connectorId, stepId, kind]);
}

/**
 * The fields of a record that preparing reads, in a fixed order: a JSON
 * array of its text fields (self-delimiting) and then its properties text.
 */
function recordJson(kind: RecordKind, record: EntityData | RelationshipData, properties: string): string {
  // Reused arrays: no array to allocate and collect for every record (serializing is synchronous).
  if (kind === 'entity') {
    const e = record as EntityData;
    const f = entityFields;
    f[0] = e.entityType;
    f[1] = e.entityKey;
    f[2] = e.entityClass;
    f[3] = e.displayName;
    return `${JSON.stringify(f)}${properties}`;
  }
  const r = record as RelationshipData;
  const f = relationshipFields;
  f[0] = r.fromType;
  f[1] = r.fromKey;
  f[2] = r.verb;
  f[3] = r.toType;
  f[4] = r.toKey;
  return `${JSON.stringify(f)}${properties}`;
}

const entityFields: string[] = ['', '', '', ''];
const relationshipFields: string[] = ['', '', '', '', ''];
