/**
 * Units and their input digests: how a sync recognises records the scope
 * stored last time before preparing them (+P2). What must hold is
 * soundness (equal digests only for records that prepare into the same
 * rows; no digest for what preparing would read differently from the text
 * hashed) and locality (a record added or removed changes the unit it falls
 * in, not the units after it: what keeps a churn sync cheap).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entityId, relationshipId, type EntityData, type RelationshipData } from 'parallax-edge';
import { entityIdWords, sha256Hex } from '../../src/model/ids.js';
import { RowPreparer } from '../../src/ingest/prepare.js';
import { MAX_UNIT_RECORDS, UnitBuffer, unitHeader, unitRecordsOf } from '../../src/ingest/units.js';

const host = (key: string, extra: Partial<EntityData> = {}): EntityData => ({
  entityType: 'host',
  entityKey: key,
  entityClass: 'Host',
  displayName: `host ${key}`,
  properties: { ip: '10.0.0.1', tags: ['prod'], cores: 4, public: false, owner: null },
  ...extra,
});
const link = (from: string, to: string, extra: Partial<RelationshipData> = {}): RelationshipData => ({
  fromType: 'host',
  fromKey: from,
  verb: 'CONNECTS',
  toType: 'host',
  toKey: to,
  properties: { port: 443 },
  ...extra,
});

const header = (step = 'hosts', kind: 'entity' | 'relationship' = 'entity', account = 'acme', connector = 'alpha') => unitHeader(account, connector, step, kind);
const entityWords = (e: EntityData, account = 'acme') => Uint32Array.from(entityIdWords(account, e.entityType, e.entityKey).subarray(0, 4));

/** The digest of one unit of entities. */
function entityDigest(records: readonly EntityData[], h = header()): string {
  const unit = new UnitBuffer<EntityData>('entity', h);
  for (const e of records) unit.add(e, entityWords(e));
  return unit.digest();
}
function relationshipDigest(records: readonly RelationshipData[]): string {
  const unit = new UnitBuffer<RelationshipData>('relationship', header('hosts', 'relationship'));
  for (const r of records) unit.add(r, [1, 0, 0, 0]);
  return unit.digest();
}

/** What a store keeps of prepared entity rows. */
const prepared = (records: readonly EntityData[]) => {
  const preparer = new RowPreparer('acme', 'alpha', 'hosts');
  return records.map((e) => preparer.entity(e, entityId('acme', e.entityType, e.entityKey)));
};

describe('unit digests (+P2: the input digest of a run of records)', () => {
  it('+P2: digests keep their bytes: pinned values, and the plain formula (header, then each record\'s text fields and properties JSON, a line each) for any records', () => {
    const e = new UnitBuffer<EntityData>('entity', unitHeader('acme', 'alpha', 'hosts', 'entity'));
    e.add({ entityType: 'host', entityKey: 'h-1', entityClass: 'Host', displayName: 'H "1"\n', properties: { b: 1, a: ['x', '\u00e9\u{1f600}'], c: null } }, [1, 2, 3, 4]);
    e.add({ entityType: 'host', entityKey: 'h-2', entityClass: 'Host', displayName: 'h-2', properties: {} }, [5, 6, 7, 8]);
    expect(e.digest()).toBe('a8dd8cbf6a51f7948570202fbe1550a61f4260e83b463fdffb91d481f8140bbe');
    const r = new UnitBuffer<RelationshipData>('relationship', unitHeader('acme', 'alpha', 'hosts', 'relationship'));
    r.add({ fromType: 'host', fromKey: 'h-1', verb: 'CONNECTS', toType: 'host', toKey: 'h-2', properties: { port: 443 } }, [1, 0, 0, 0]);
    expect(r.digest()).toBe('cdca53a233268b8896e61ad1a09e0a9aee8bc86a4011fc413134bbce7e4e39a6');
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    fc.assert(
      fc.property(fc.array(fc.record({ key: text, name: text, props: fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null))) }), { maxLength: 8 }), (rows) => {
        const h = unitHeader('acme', 'alpha', 'hosts', 'entity');
        const unit = new UnitBuffer<EntityData>('entity', h);
        const lines = [h];
        for (const row of rows) {
          const data: EntityData = { entityType: 'host', entityKey: row.key, entityClass: 'Host', displayName: row.name, properties: { ...row.props } };
          unit.add(data, [1, 2, 3, 4]);
          lines.push(`${JSON.stringify([data.entityType, data.entityKey, data.entityClass, data.displayName])}${JSON.stringify(data.properties)}`);
        }
        expect(unit.digest()).toBe(sha256Hex(rows.length === 0 ? `${h}\n` : lines.join('\n')));
      }),
      { numRuns: 200 },
    );
  });

  it('+P2: the same records give the same digest, a lowercase hex SHA-256; so do equal copies', () => {
    const records = [host('h-1'), host('h-2')];
    const digest = entityDigest(records);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(entityDigest(structuredClone(records))).toBe(digest);
  });

  it('+P2: a change to any field preparing reads gives another digest, and so does the unit\'s account, connector, step or kind', () => {
    const base = entityDigest([host('h-1')]);
    for (const change of [
      { entityType: 'server' },
      { entityKey: 'h-9' },
      { entityClass: 'Device' },
      { displayName: 'other' },
      { properties: { ip: '10.0.0.2', tags: ['prod'], cores: 4, public: false, owner: null } },
      { properties: { ip: '10.0.0.1', tags: ['prod', 'x'], cores: 4, public: false, owner: null } },
      { properties: { ip: '10.0.0.1', tags: ['prod'], cores: 4, public: false } },
    ] as Partial<EntityData>[]) {
      expect(entityDigest([host('h-1', change)]), JSON.stringify(change)).not.toBe(base);
    }
    for (const h of [header('other'), header('hosts', 'relationship'), header('hosts', 'entity', 'other'), header('hosts', 'entity', 'acme', 'beta')]) {
      expect(entityDigest([host('h-1')], h)).not.toBe(base);
    }
    const rel = relationshipDigest([link('h-1', 'h-2')]);
    for (const change of [{ verb: 'HAS' }, { fromKey: 'h-9' }, { toType: 'server' }, { properties: { port: 80 } }] as Partial<RelationshipData>[]) {
      expect(relationshipDigest([link('h-1', 'h-2', change)])).not.toBe(rel);
    }
  });

  it('+P2: the digest follows emit order within the unit', () => {
    expect(entityDigest([host('h-1'), host('h-2')])).not.toBe(entityDigest([host('h-2'), host('h-1')]));
  });

  it('+P2: properties that are not a plain object digest what is stored (their own keys, canonical), never what a toJSON says', () => {
    class Tagged {
      ip = '10.0.0.1';
      toJSON() {
        return { ip: 'something else' };
      }
    }
    const tagged = host('h-1', { properties: new Tagged() as never });
    const plainCopy = host('h-1', { properties: { ip: '10.0.0.1' } });
    expect(entityDigest([tagged])).toBe(entityDigest([plainCopy]));
    expect(prepared([tagged])).toEqual(prepared([plainCopy]));
    expect(entityDigest([host('h-1', { properties: { ip: 'something else' } })])).not.toBe(entityDigest([tagged]));
  });

  it('+P2: the digest reads properties as emitted (no sorted copy per record); key order changes no prepared row, only which units are prepared again', () => {
    const ab = host('h-1', { properties: { a: 1, b: 2 } });
    const ba = host('h-1', { properties: { b: 2, a: 1 } });
    expect(entityDigest([ab])).toBe(entityDigest([host('h-1', { properties: { a: 1, b: 2 } })]));
    // Another order is another text: the unit is prepared and its rows compared by their (canonical) content hash.
    expect(entityDigest([ba])).not.toBe(entityDigest([ab]));
    expect(prepared([ba])).toEqual(prepared([ab]));
    expect(prepared([ba])[0]!.propertiesJson).toBe('{"a":1,"b":2}');
  });

  it('a unit ends after a record whose id has its low 5 bits zero, or at MAX_UNIT_RECORDS records', () => {
    const unit = new UnitBuffer<EntityData>('entity', header());
    expect(unit.add(host('a'), [32, 1, 2, 3])).toBe(true);
    unit.clear();
    expect(unit.add(host('a'), [33, 1, 2, 3])).toBe(false);
    for (let i = 1; i < MAX_UNIT_RECORDS - 1; i++) expect(unit.add(host(`k${i}`), [1, 0, 0, 0])).toBe(false);
    expect(unit.add(host('last'), [1, 0, 0, 0])).toBe(true);
  });

  it('a store may take smaller units (unitRecords, a power of two): with 8, a unit ends after an id whose low 3 bits are zero; anything but a power of two from 1 to 256 is a RangeError', () => {
    const unit = new UnitBuffer<EntityData>('entity', header(), 8);
    expect(unit.add(host('a'), [40, 1, 2, 3])).toBe(true);
    unit.clear();
    expect(unit.add(host('a'), [36, 1, 2, 3])).toBe(false);
    expect(new UnitBuffer<EntityData>('entity', header(), 1).add(host('a'), [37, 0, 0, 0])).toBe(true);
    for (const bad of [0, 3, 12, 512, 1.5, Number.NaN, -8]) expect(() => new UnitBuffer<EntityData>('entity', header(), bad)).toThrow(RangeError);
    expect(() => unitRecordsOf(6)).toThrow(/unitRecords must be a power of two from 1 to 256, got 6/);
  });

  it('+P2 locality: adding or removing one record changes only the unit it falls in; every other unit keeps its digest', () => {
    const unitsOf = (records: readonly EntityData[]): string[] => {
      const out: string[] = [];
      const unit = new UnitBuffer<EntityData>('entity', header());
      for (const e of records) if (unit.add(e, entityWords(e))) (out.push(unit.digest()!), unit.clear());
      if (unit.length > 0) out.push(unit.digest()!);
      return out;
    };
    fc.assert(
      fc.property(fc.integer({ min: 50, max: 400 }), fc.nat(), fc.boolean(), (n, at, add) => {
        const records = Array.from({ length: n }, (_, i) => host(`h-${i}`));
        const position = at % n;
        const changed = add ? [...records.slice(0, position), host('new-one'), ...records.slice(position)] : records.filter((_, i) => i !== position);
        const before = new Set(unitsOf(records));
        const after = unitsOf(changed);
        const kept = after.filter((d) => before.has(d)).length;
        // At most two units differ: the one the record fell in (split in two when the added record ends a unit).
        expect(after.length - kept).toBeLessThanOrEqual(2);
        expect(before.size - kept).toBeLessThanOrEqual(2);
      }),
      { numRuns: 200 },
    );
  });

  it('+P2: equal digests mean equal prepared rows (random units from small alphabets, so that near-equal pairs are common)', () => {
    const text = fc.constantFrom('a', 'b', 'ab', 'é', '');
    const value = fc.oneof(text, fc.constantFrom(0, 1, -0, 1e21, true, false, null), fc.array(text, { maxLength: 2 }));
    const anEntity: fc.Arbitrary<EntityData> = fc.record({
      entityType: fc.constantFrom('a', 'ab'),
      entityKey: fc.constantFrom('a', 'b', 'ab'),
      entityClass: fc.constantFrom('Host', 'Generic'),
      displayName: text,
      properties: fc.dictionary(fc.constantFrom('a', 'b', 'ab'), value, { maxKeys: 2, noNullPrototype: true }),
    });
    const aUnit = fc.uniqueArray(anEntity, { maxLength: 3, selector: (e) => `${e.entityType}\0${e.entityKey}` });
    let equalPairs = 0;
    fc.assert(
      fc.property(aUnit, aUnit, (a, b) => {
        const da = entityDigest(a);
        if (da !== entityDigest(b)) return;
        equalPairs++;
        expect(prepared(b)).toEqual(prepared(a));
      }),
      { numRuns: 3000 },
    );
    expect(equalPairs).toBeGreaterThan(0);
  });

  it('+P2: text moved from the end of one field to the start of the next keeps the digest only if the rows prepared are the same', () => {
    const fields = ['entityType', 'entityKey', 'entityClass', 'displayName'] as const;
    let shifted = 0;
    fc.assert(
      fc.property(fc.constantFrom('ab', 'abé', 'a', 'bb'), fc.constantFrom('x', 'xy'), fc.nat({ max: 2 }), fc.integer({ min: 1, max: 2 }), (first, second, boundary, chars) => {
        const from = fields[boundary]!;
        const to = fields[boundary + 1]!;
        const a = host('k', { [from]: first, [to]: second });
        if (first.length < chars) return;
        const b = host('k', { [from]: first.slice(0, -chars), [to]: `${first.slice(-chars)}${second}` });
        shifted++;
        if (entityDigest([a]) === entityDigest([b])) expect(prepared([b])).toEqual(prepared([a]));
        else expect(JSON.stringify(prepared([b]))).not.toBe(JSON.stringify(prepared([a])));
      }),
      { numRuns: 500 },
    );
    expect(shifted).toBeGreaterThan(50);
  });

  it('INV-C03: relationship ids of the preparer are the derived ones', () => {
    const r = new RowPreparer('acme', 'alpha', 'hosts').relationship(link('h-1', 'h-2'), relationshipId('acme', 'host', 'h-1', 'CONNECTS', 'host', 'h-2'), 0);
    expect(r).toMatchObject({ fromId: entityId('acme', 'host', 'h-1'), toId: entityId('acme', 'host', 'h-2') });
  });

  it('INV-C03: end ids kept from the last relationship are the derived ones, whatever repeats (same key of another type, same type of another key, swapped ends)', () => {
    const end = fc.record({ type: fc.constantFrom('host', 'user', ''), key: fc.constantFrom('h-1', 'h-2', 'user', '', '\u00e9') });
    fc.assert(
      fc.property(fc.array(fc.tuple(end, end), { maxLength: 30 }), (ends) => {
        const preparer = new RowPreparer('acme', 'alpha', 'links');
        for (const [from, to] of ends) {
          const r = preparer.relationship(link(from.key, to.key, { fromType: from.type, toType: to.type }), 'id', 0);
          expect(r.fromId).toBe(entityId('acme', from.type, from.key));
          expect(r.toId).toBe(entityId('acme', to.type, to.key));
        }
      }),
      { numRuns: 300 },
    );
  });
});
