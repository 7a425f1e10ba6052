/** The TSDoc examples of query() and parsePql(), run as written (issue 13: runnable examples). */
import { describe, expect, it } from 'vitest';
import { PqlError, commitSync, parsePql, query } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { ent, rel, syncInput } from 'parallax-edge/testing';

describe('PQL TSDoc examples', () => {
  it('parsePql: a tree for a query, a PqlError with the column of the offending word', () => {
    const ast = parsePql("FIND host WITH os = 'linux' THAT USES aws_iam_role");
    expect(ast.kind).toBe('find');
    let column: number | undefined;
    try {
      parsePql('FIND host THAT RUN x');
    } catch (e) {
      column = (e as PqlError).column;
    }
    expect(column).toBe(16);
  });

  it('query: a page of hosts no EDR agent protects, and the next page by its cursor', async () => {
    const store = createMemoryStore();
    const hosts = Array.from({ length: 150 }, (_, i) => ent('host', `h${i}`, { entityClass: 'Host' }));
    await commitSync(store, syncInput({ syncId: 's1', entities: [...hosts, ent('edr_agent', 'a', { entityClass: 'Agent' })], relationships: [rel('edr_agent:a', 'PROTECTS', 'host:h0')] }));
    const { count, entities, nextCursor } = await query(store, 'FIND host THAT !PROTECTS edr_agent', { limit: 100 });
    const more = nextCursor && (await query(store, 'FIND host THAT !PROTECTS edr_agent', { limit: 100, cursor: nextCursor }));
    expect(count).toBe(149);
    expect(entities).toHaveLength(100);
    expect(more && more.entities).toHaveLength(49);
  });
});
