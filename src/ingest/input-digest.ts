import { sha256Hex } from '../model/ids.js';
import { entityLooksValid, idProblem, relationshipLooksValid } from '../model/validate.js';
import { DEFAULT_STEP_ID, type SyncInput } from './prepare.js';

/*
 * Deriving ids and content hashes (prepareBatch) is most of what an unchanged
 * re-sync costs once the store writes nothing (+P2). The input digest lets a
 * store recognise a sync's output as the very output it committed last time
 * before any of that work: a SQL store keeps the digest of its last full
 * commit's input beside the scope's write count, and an equal digest while
 * nothing else wrote to the scope means every row is unchanged.
 *
 * It is SHA-256 over a serialization that is injective on everything
 * prepareBatch reads (so equal digests mean equal prepared batches), built
 * in 64 KB chunks whose digests are hashed in turn (equal chunk digests mean
 * equal chunks, and the chunks concatenate to the whole text). It follows the
 * order rows were emitted in: a connector that emits the same rows in another
 * order gets another digest and takes the full path, which still finds every
 * row unchanged.
 */

/** Bumped whenever prepareBatch derives anything differently: a stored digest of another version never matches. */
const VERSION = 'parallax-edge input digest 1';
const CHUNK_CHARS = 64 * 1024;

/** What prepareBatch takes as an id, or a list of step ids. */
const isId = (value: unknown): value is string => idProblem(value) === undefined;
const stepIdsOk = (value: unknown): boolean => value === undefined || (Array.isArray(value) && value.every(isId));

/** Length-prefixed, so fields never run into each other. */
const field = (text: string): string => `${text.length}:${text}`;

/**
 * Only a plain object's JSON text is exactly what prepareBatch's canonical
 * properties read (own enumerable keys, no inherited `toJSON`).
 */
function plain(properties: object): boolean {
  const proto: unknown = Object.getPrototypeOf(properties);
  return proto === Object.prototype || proto === null;
}

/**
 * A digest of everything in `input` that `prepareBatch` turns into stored rows,
 * in emit order (lowercase hex SHA-256), for {@link GraphStore.commitIfUnchanged}.
 * Undefined when the input has kept steps (+P1: the scope is then more than
 * the batch) or anything the fast checks do not vouch for (an invalid id, an
 * invalid or too large row, text that is not valid Unicode, properties that
 * are not a plain object): such an input always takes the full path, where
 * `prepareBatch` names what is wrong.
 *
 * @example
 * const output = await runConnector(connector, { accountId: 'acme', syncId: 'sync-002' });
 * inputDigest(output); // the same text for the same rows in the same order
 */
export function inputDigest(input: SyncInput): string | undefined {
  const { accountId, connectorId, syncId, entities, relationships, keptSteps, failedSteps, startedAt, finishedAt } = input;
  if (keptSteps !== undefined && !(Array.isArray(keptSteps) && keptSteps.length === 0)) return undefined;
  if (!isId(accountId) || !isId(connectorId) || !isId(syncId)) return undefined;
  // Not hashed, but stored: what prepareBatch refuses gets no digest.
  if (!stepIdsOk(failedSteps) || (startedAt !== undefined && !isId(startedAt)) || (finishedAt !== undefined && !isId(finishedAt))) return undefined;
  if (!Array.isArray(entities) || !Array.isArray(relationships)) return undefined;

  const chunkDigests: string[] = [];
  let parts: string[] = [];
  let chars = 0;
  const add = (text: string): void => {
    parts.push(text);
    chars += text.length;
    if (chars >= CHUNK_CHARS) flush();
  };
  const flush = (): void => {
    // UTF-8 (what the hash reads) is one-to-one only on well-formed text:
    // every text added is, as the checks above and the fast checks vouch.
    chunkDigests.push(sha256Hex(parts.join('')));
    parts = [];
    chars = 0;
  };

  const steps = new Map<unknown, string>();
  const stepField = (stepId: unknown): string | undefined => {
    let text = steps.get(stepId);
    if (text === undefined) {
      const id = stepId ?? DEFAULT_STEP_ID;
      if (!isId(id)) return undefined;
      steps.set(stepId, (text = field(id)));
    }
    return text;
  };

  add(`${VERSION}\n${field(accountId)}${field(connectorId)}\n${entities.length} entities\n`);
  for (const e of entities) {
    if (!e || !entityLooksValid(e) || !plain(e.properties)) return undefined;
    const step = stepField(e.stepId);
    if (step === undefined) return undefined;
    add(`${field(e.entityType)}${field(e.entityKey)}${field(e.entityClass)}${field(e.displayName)}${step}${JSON.stringify(e.properties)}\n`);
  }
  add(`${relationships.length} relationships\n`);
  for (const r of relationships) {
    if (!r || !relationshipLooksValid(r) || !plain(r.properties)) return undefined;
    const step = stepField(r.stepId);
    if (step === undefined) return undefined;
    add(`${field(r.fromType)}${field(r.fromKey)}${field(r.verb)}${field(r.toType)}${field(r.toKey)}${step}${JSON.stringify(r.properties)}\n`);
  }
  flush();
  return sha256Hex(chunkDigests.join(''));
}
