/**
 * The workload's own cost, a floor under every sync phase: the connector's
 * steps paged through in dependency order with a bare context (every parent
 * present, each record built and then dropped), so without the core's
 * validation, ids, canonical JSON, hashing and units, and without a store.
 * Whatever a sync costs beyond this is the core's and the store's.
 * Runtime-neutral, like `phases.ts`.
 */
import { EmitResult, EntityBuilder, RelationshipBuilder, type Connector, type StepContext, type StepDefinition } from 'parallax-edge';

/** Runs every step of `connector` to its last page; returns the records it emitted. */
export async function runConnectorAlone(connector: Connector, accountId: string): Promise<number> {
  let records = 0;
  const emit = (record: EntityBuilder | RelationshipBuilder | object): EmitResult => {
    // The snapshot a builder hands the core on every emit.
    if (record instanceof EntityBuilder || record instanceof RelationshipBuilder) record.build();
    records++;
    return EmitResult.OK;
  };
  for (const step of dependencyOrder(connector.steps())) {
    let cursor: string | undefined;
    do {
      const ctx = bareContext(connector.name, accountId, step.id, cursor, emit);
      const page = await connector.executeStep(step.id, ctx);
      cursor = page ? page.next : undefined;
    } while (cursor !== undefined);
  }
  return records;
}

function dependencyOrder(steps: readonly StepDefinition[]): StepDefinition[] {
  const done = new Set<string>();
  const order: StepDefinition[] = [];
  while (order.length < steps.length) {
    const ready = steps.filter((s) => !done.has(s.id) && s.dependsOn.every((d) => done.has(d)));
    if (ready.length === 0) throw new Error('the connector\'s steps have a cycle');
    for (const s of ready) {
      done.add(s.id);
      order.push(s);
    }
  }
  return order;
}

/** Only what a step may read; prior data answers "present" and holds nothing. */
function bareContext(
  connectorId: string,
  accountId: string,
  stepId: string,
  cursor: string | undefined,
  emit: (record: EntityBuilder | RelationshipBuilder | object) => EmitResult,
): StepContext {
  const none = (): never => {
    throw new Error(`the bare context of step "${stepId}" holds no prior records`);
  };
  const ctx: StepContext = {
    stepId,
    connectorId,
    accountId,
    syncId: 'connector-alone',
    signal: new AbortController().signal,
    prior: {
      has: () => true,
      find: async () => none(),
      iterateEntities: () => none(),
      entitiesByType: () => none(),
      get: () => none(),
      entities: () => none(),
      relationships: () => none(),
    },
    metrics: { entitiesEmitted: 0, relationshipsEmitted: 0, rejected: 0, warnings: 0 },
    cursor,
    emitEntity: emit,
    emitRelationship: emit,
    hasEmitted: () => false,
    warn: () => {},
    flush: async () => {},
  };
  return ctx;
}
