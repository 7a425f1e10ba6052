import type { EntityData } from '../model/entity.js';
import { contentHash, entityIdWords, idHex } from '../model/ids.js';
import type { RelationshipData } from '../model/relationship.js';
import { canonicalProperties } from '../model/values.js';
import type { PreparedEntity, PreparedRelationship } from '../store/types.js';

/** Step recorded for rows that arrive without one (REST ingest). */
export const DEFAULT_STEP_ID = 'ingest';

/**
 * One field of a content hash's input: length-prefixed, so that fields never
 * run into each other (`ab`+`c` and `a`+`bc` differ); the last field (the
 * properties JSON) needs no prefix.
 */
const hashField = (text: string): string => `${text.length}:${text}`;

const MAX_REUSED_HASHES = 10_000;

/**
 * Derives what stores need from validated records of one step: canonical
 * properties and the content hash, whose input covers content and source
 * (connector, step), so a row taken over by another connector or step
 * counts as updated, and an unchanged row is skipped entirely (+P2). Ids
 * come from the caller, which derived them on the emit path (INV-C03).
 */
export class RowPreparer {
  /** The connector and step part of every hash input. */
  readonly #source: string;
  // Relationships often carry the same properties (none, or a few shared
  // values): their hash input then repeats, and its hash is reused.
  readonly #relationshipHashes = new Map<string, string>();
  // Consecutive relationships often share an end (a host's groups, a VPC's
  // subnets): the last id of each end is kept, not derived again.
  #fromType = '';
  #fromKey = '';
  #fromId = '';
  #toType = '';
  #toKey = '';
  #toId = '';
  constructor(
    readonly accountId: string,
    connectorId: string,
    readonly stepId: string,
  ) {
    this.#source = `${hashField(connectorId)}${hashField(stepId)}`;
  }

  /** `propertiesJson` is `canonicalProperties(e.properties)` when the caller has it already. */
  entity(e: EntityData, id: string, propertiesJson = canonicalProperties(e.properties)): PreparedEntity {
    return {
      id,
      entityType: e.entityType,
      entityKey: e.entityKey,
      entityClass: e.entityClass,
      displayName: e.displayName,
      propertiesJson,
      hash: contentHash(`${hashField(e.entityClass)}${hashField(e.displayName)}${this.#source}${propertiesJson}`),
      stepId: this.stepId,
    };
  }

  relationship(r: RelationshipData, id: string, ord: number, propertiesJson = canonicalProperties(r.properties)): PreparedRelationship {
    const hashInput = `${this.#source}${propertiesJson}`;
    let hash = this.#relationshipHashes.get(hashInput);
    if (hash === undefined) {
      hash = contentHash(hashInput);
      // Bounded: a step of all-different properties gains nothing from remembering them.
      if (this.#relationshipHashes.size < MAX_REUSED_HASHES) this.#relationshipHashes.set(hashInput, hash);
    }
    if (this.#fromId === '' || r.fromKey !== this.#fromKey || r.fromType !== this.#fromType) {
      this.#fromId = idHex(entityIdWords(this.accountId, r.fromType, r.fromKey));
      this.#fromType = r.fromType;
      this.#fromKey = r.fromKey;
    }
    if (this.#toId === '' || r.toKey !== this.#toKey || r.toType !== this.#toType) {
      this.#toId = idHex(entityIdWords(this.accountId, r.toType, r.toKey));
      this.#toType = r.toType;
      this.#toKey = r.toKey;
    }
    return {
      id,
      ord,
      fromId: this.#fromId,
      toId: this.#toId,
      fromType: r.fromType,
      fromKey: r.fromKey,
      verb: r.verb,
      toType: r.toType,
      toKey: r.toKey,
      propertiesJson,
      hash,
      stepId: this.stepId,
    };
  }
}
