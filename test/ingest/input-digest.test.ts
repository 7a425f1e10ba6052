/**
 * inputDigest: the digest of a sync's output that lets a store recognise an
 * unchanged re-sync before any batch is prepared (+P2). What must hold is
 * soundness: equal digests only for outputs that prepareBatch turns into the
 * same rows, and no digest for anything prepareBatch would refuse or read
 * differently from the text that is hashed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommitError, DEFAULT_STEP_ID, MAX_ID_BYTES, MAX_ROW_BYTES, inputDigest, prepareBatch, type SyncInput } from 'parallax-edge';

type Entity = SyncInput['entities'][number];
type Relationship = SyncInput['relationships'][number];

const host = (key: string, extra: Partial<Entity> = {}): Entity => ({
  entityType: 'host',
  entityKey: key,
  entityClass: 'Host',
  displayName: `host ${key}`,
  properties: { ip: '10.0.0.1', tags: ['prod'], cores: 4, public: false, owner: null },
  stepId: 'hosts',
  ...extra,
});
const link = (from: string, to: string, extra: Partial<Relationship> = {}): Relationship => ({
  fromType: 'host',
  fromKey: from,
  verb: 'CONNECTS',
  toType: 'host',
  toKey: to,
  properties: { port: 443 },
  stepId: 'hosts',
  ...extra,
});
const output = (extra: Partial<SyncInput> = {}): SyncInput => ({
  connectorId: 'alpha',
  accountId: 'acme',
  syncId: 's1',
  entities: [host('h-1'), host('h-2'), host('h-3')],
  relationships: [link('h-1', 'h-2'), link('h-2', 'h-3')],
  ...extra,
});
const withEntity = (index: number, change: Partial<Entity>): SyncInput => {
  const base = output();
  return { ...base, entities: base.entities.map((e, i) => (i === index ? { ...e, ...change } : e)) };
};
const withRelationship = (index: number, change: Partial<Relationship>): SyncInput => {
  const base = output();
  return { ...base, relationships: base.relationships.map((r, i) => (i === index ? { ...r, ...change } : r)) };
};

/** What a store keeps of a prepared batch: everything but the run's own fields. */
function rows(input: SyncInput) {
  const { entities, relationships } = prepareBatch(input);
  return { entities, relationships };
}

describe('inputDigest', () => {
  it('+P2: the same output gives the same digest, a lowercase hex SHA-256; so do equal copies', () => {
    const digest = inputDigest(output());
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(inputDigest(output())).toBe(digest);
    expect(inputDigest(structuredClone(output()))).toBe(digest);
  });

  it('+P2: a change to any field prepareBatch reads gives another digest', () => {
    const base = inputDigest(output());
    const changed: [string, SyncInput][] = [
      ['accountId', output({ accountId: 'globex' })],
      ['connectorId', output({ connectorId: 'beta' })],
      ['entityType', withEntity(1, { entityType: 'server' })],
      ['entityKey', withEntity(1, { entityKey: 'h-9' })],
      ['entityClass', withEntity(1, { entityClass: 'Device' })],
      ['displayName', withEntity(1, { displayName: 'renamed' })],
      ['entity stepId', withEntity(1, { stepId: 'other' })],
      ['property value', withEntity(2, { properties: { ...host('x').properties, cores: 8 } })],
      ['property type', withEntity(2, { properties: { ...host('x').properties, cores: '4' } })],
      ['array item', withEntity(2, { properties: { ...host('x').properties, tags: ['dev'] } })],
      ['property added', withEntity(2, { properties: { ...host('x').properties, extra: null } })],
      ['property removed', withEntity(2, { properties: { ip: '10.0.0.1' } })],
      ['fromType', withRelationship(0, { fromType: 'server' })],
      ['fromKey', withRelationship(0, { fromKey: 'h-3' })],
      ['verb', withRelationship(0, { verb: 'USES' })],
      ['toType', withRelationship(0, { toType: 'server' })],
      ['toKey', withRelationship(0, { toKey: 'h-1' })],
      ['relationship stepId', withRelationship(1, { stepId: 'links' })],
      ['relationship properties', withRelationship(1, { properties: {} })],
      ['entity removed', output({ entities: output().entities.slice(1) })],
      ['relationship removed', output({ relationships: output().relationships.slice(1) })],
      ['entity added', output({ entities: [...output().entities, host('h-4')] })],
      // Text shifted from one field into the next: the fields are length-prefixed.
      ['field boundary', withEntity(0, { displayName: 'host h-1h', stepId: 'osts' })],
    ];
    const digests = new Set([base]);
    for (const [name, input] of changed) {
      const digest = inputDigest(input);
      expect(digest, name).toMatch(/^[0-9a-f]{64}$/);
      expect(digests.has(digest), name).toBe(false);
      digests.add(digest);
      // Each of these is a real change to the stored rows, not just to the text.
      expect(rows(input), name).not.toEqual(rows(output()));
    }
  });

  it('+P2: what prepareBatch does not store in rows leaves the digest alone: sync id, times, failed steps, a missing step id (the default step)', () => {
    const base = inputDigest(output());
    expect(inputDigest(output({ syncId: 's2', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z' }))).toBe(base);
    expect(inputDigest(output({ failedSteps: ['users'] }))).toBe(base);
    const stepless = output({ entities: [host('h-1', { stepId: undefined })], relationships: [] });
    expect(inputDigest(stepless)).toBe(inputDigest(output({ entities: [host('h-1', { stepId: DEFAULT_STEP_ID })], relationships: [] })));
  });

  it('+P2: the digest follows emit order, so the same rows in another order are another digest (the store\'s batch digest still finds them unchanged)', () => {
    const base = output();
    const reordered = { ...base, entities: [...base.entities].reverse() };
    expect(inputDigest(reordered)).not.toBe(inputDigest(base));
    expect(rows(reordered).entities).toEqual(expect.arrayContaining([...rows(base).entities]));
  });

  it('+P1: no digest for an output with kept steps: the scope then holds more than the batch', () => {
    expect(inputDigest(output({ keptSteps: ['hosts'], failedSteps: ['hosts'] }))).toBeUndefined();
    expect(inputDigest(output({ keptSteps: [] }))).toBe(inputDigest(output()));
  });

  it('no digest for anything prepareBatch refuses, even where its JSON equals a valid output\'s (NaN and null, undefined and absent)', () => {
    const valid = withEntity(0, { properties: { v: null } });
    expect(inputDigest(valid)).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(withEntity(0, { properties: { v: Number.NaN } }))).toBe(JSON.stringify(valid));
    const refused: [string, SyncInput][] = [
      ['NaN', withEntity(0, { properties: { v: Number.NaN } })],
      ['Infinity', withEntity(0, { properties: { v: Number.POSITIVE_INFINITY } })],
      ['undefined', withEntity(0, { properties: { v: undefined } as never })],
      ['nested object', withEntity(0, { properties: { v: { a: 1 } } as never })],
      ['array of numbers', withEntity(0, { properties: { v: [1] } as never })],
      ['empty key', withEntity(0, { entityKey: '' })],
      ['missing class', withEntity(0, { entityClass: undefined as never })],
      ['empty verb', withRelationship(0, { verb: '' })],
      ['relationship properties not an object', withRelationship(0, { properties: null as never })],
      ['missing entity', output({ entities: [undefined as never] })],
      ['empty accountId', output({ accountId: '' })],
      ['empty syncId', output({ syncId: '' })],
      // Text every store must keep as it is: valid Unicode, and rows and ids within the limits.
      ['lone surrogate in a class', withEntity(0, { entityClass: 'Host\ud800' })],
      ['lone surrogate in a property name', withEntity(0, { properties: { 'k\udc00': 1 } })],
      ['lone surrogate in a property value', withEntity(0, { properties: { v: 'x\ud800' } })],
      ['lone surrogate in an array item', withRelationship(0, { properties: { tags: ['ok', '\udfff'] } })],
      ['lone surrogate in a verb', withRelationship(0, { verb: 'HAS\ud800' })],
      ['lone surrogate in a step id', withEntity(0, { stepId: 'step\udc00' })],
      ['lone surrogate in a failed step', output({ failedSteps: ['x\ud800'] })],
      ['failed steps that are not an array', output({ failedSteps: 'users' as never })],
      ['kept steps that are not an array', output({ keptSteps: {} as never })],
      ['a start time that is not text', output({ startedAt: 5 as never })],
      ['a sync id over MAX_ID_BYTES', output({ syncId: 'é'.repeat(MAX_ID_BYTES) })],
      ['a step id over MAX_ID_BYTES', withEntity(0, { stepId: 's'.repeat(MAX_ID_BYTES + 1) })],
      ['an entity over MAX_ROW_BYTES', withEntity(0, { properties: { blob: 'x'.repeat(MAX_ROW_BYTES) } })],
      ['a relationship over MAX_ROW_BYTES', withRelationship(0, { properties: { note: '"'.repeat(MAX_ROW_BYTES / 4) } })],
    ];
    for (const [name, input] of refused) {
      expect(inputDigest(input), name).toBeUndefined();
      expect(() => prepareBatch(input), name).toThrow(CommitError);
    }
  });

  it('no digest where the hashed text could stand for more than one output: properties that are not a plain object, a step id that is not a string, text that is not well-formed Unicode', () => {
    class Props {
      constructor(readonly v: string) {}
      toJSON() {
        return {};
      }
    }
    expect(inputDigest(withEntity(0, { properties: new Props('a') as never }))).toBeUndefined();
    expect(inputDigest(withEntity(0, { stepId: 5 as never }))).toBeUndefined();
    expect(inputDigest(withEntity(0, { entityClass: 'Host\ud800' }))).toBeUndefined();
    expect(inputDigest(withEntity(0, { stepId: 'step\udc00' }))).toBeUndefined();
    // A plain object without a prototype is read the same way by both: it has a digest.
    const bare = Object.assign(Object.create(null) as Record<string, string>, { a: 'b' });
    expect(inputDigest(withEntity(0, { properties: bare }))).toBe(inputDigest(withEntity(0, { properties: { a: 'b' } })));
    // Lone surrogates inside property values are escaped by JSON, distinctly, but no store may keep them.
    expect(inputDigest(withEntity(0, { properties: { v: '\ud800' } }))).toBeUndefined();
  });

  it('+P2: an output of many 64 KB chunks: one changed row anywhere, or one row moved to the next chunk, changes the digest', () => {
    const big = output({ entities: Array.from({ length: 5000 }, (_, i) => host(`h-${i}`)), relationships: [] });
    const base = inputDigest(big);
    for (const at of [0, 2500, 4999]) {
      const entities = big.entities.map((e, i) => (i === at ? { ...e, displayName: `${e.displayName}!` } : e));
      expect(inputDigest({ ...big, entities }), `row ${at}`).not.toBe(base);
    }
    // One long property value (more than a chunk by itself) still hashes whole.
    const long = 'x'.repeat(200_000);
    expect(inputDigest(withEntity(0, { properties: { v: long } }))).not.toBe(inputDigest(withEntity(0, { properties: { v: `${long}y` } })));
  });

  // Random outputs from small alphabets, for the property tests below.
  const anyText = fc.constantFrom<string>('a', 'b', 'ab', '', 'é', 'a\ud800', '\udc00');
  const anyValue = fc.constantFrom<unknown>(null, 0, -0, 1, 'a', '', true, false, ['a'], [], Number.NaN, undefined, [1], { a: 1 }, '\ud800', ['a', '\udfff']);
  const validValue = fc.constantFrom<unknown>(null, 0, -0, 1, 'a', '', true, false, ['a'], []);
  const step = fc.constantFrom<unknown>(undefined, DEFAULT_STEP_ID, 'a', 'b', 'ab', '', 'b\udc00');
  const outputs = (value: fc.Arbitrary<unknown>, text = anyText, name = fc.constantFrom<string>('a', 'b', 'ab', '')): fc.Arbitrary<SyncInput> => {
    const properties = fc.dictionary(name, value, { maxKeys: 3 });
    const entity = fc.record({ entityType: text, entityKey: text, entityClass: fc.oneof(fc.constantFrom('Host', 'User'), text), displayName: text, properties, stepId: step });
    const relationship = fc.record({ fromType: text, fromKey: text, verb: fc.constantFrom('HAS', 'USES'), toType: text, toKey: text, properties, stepId: step });
    return fc.record({
      connectorId: fc.constantFrom('alpha', 'beta'),
      accountId: fc.constantFrom('acme'),
      syncId: fc.constantFrom('s1'),
      entities: fc.array(entity, { maxLength: 3 }),
      relationships: fc.array(relationship, { maxLength: 2 }),
    }) as unknown as fc.Arbitrary<SyncInput>;
  };
  const anOutput = outputs(anyValue, anyText, fc.constantFrom('a', 'b', 'ab', '', '\ud800'));
  const prepared = (input: SyncInput) => {
    try {
      return { rows: rows(input) };
    } catch (error) {
      return { error: error as CommitError };
    }
  };

  it('+P2: equal digests mean equal prepared rows, and a digest means prepareBatch refuses nothing but repeats (random outputs from small alphabets, so that near-equal pairs are common)', () => {
    let equalPairs = 0;
    fc.assert(
      fc.property(anOutput, anOutput, (a, b) => {
        const da = inputDigest(a);
        const pa = prepared(a);
        if (da !== undefined && pa.error) expect(pa.error.message).toMatch(/repeats/);
        if (da === undefined || da !== inputDigest(b)) return;
        equalPairs++;
        expect(prepared(b)).toEqual(pa);
      }),
      { numRuns: 3000 },
    );
    expect(equalPairs).toBeGreaterThan(0);
  });

  it('+P2: text moved from the end of one field to the start of the next (a random row and boundary) keeps the digest only if the rows prepared are the same', () => {
    const FIELDS = {
      entities: ['entityType', 'entityKey', 'entityClass', 'displayName', 'stepId'],
      relationships: ['fromType', 'fromKey', 'verb', 'toType', 'toKey', 'stepId'],
    } as const;
    let shifted = 0;
    fc.assert(
      fc.property(outputs(validValue, fc.constantFrom('a', 'b', 'ab', 'é', 'abé')), fc.boolean(), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 2 }), (a, inEntities, row, boundary, chars) => {
        const kind = inEntities ? 'entities' : 'relationships';
        const list = a[kind] as unknown as readonly Record<string, unknown>[];
        if (list.length === 0) return;
        const at = row % list.length;
        const fields = FIELDS[kind];
        const from = fields[boundary % (fields.length - 1)]!;
        const to = fields[(boundary % (fields.length - 1)) + 1]!;
        const source = list[at]!;
        if (typeof source[from] !== 'string' || typeof source[to] !== 'string' || (source[from] as string).length < chars) return;
        const moved = (source[from] as string).slice(-chars);
        const changed = { ...source, [from]: (source[from] as string).slice(0, -chars), [to]: `${moved}${source[to] as string}` };
        const b = { ...a, [kind]: list.map((r, i) => (i === at ? changed : r)) } as SyncInput;
        const da = inputDigest(a);
        if (da === undefined || inputDigest(b) === undefined) return;
        shifted++;
        if (da === inputDigest(b)) expect(prepared(b)).toEqual(prepared(a));
      }),
      { numRuns: 3000 },
    );
    expect(shifted).toBeGreaterThan(100);
  });
});
