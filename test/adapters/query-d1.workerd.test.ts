/** The query contract and the randomized query model on D1 inside workerd (a real local D1, migrations applied). */
import { applyD1Migrations, reset } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createD1Store } from 'parallax-edge/adapters/d1';
import { describeQueryContract, describeQueryModel } from 'parallax-edge/testing';

async function freshDb(): Promise<D1Database> {
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS!);
  return env.DB;
}

describeQueryContract('d1 (workerd)', async () => createD1Store(await freshDb()));
describeQueryModel('d1 (workerd)', async () => createD1Store(await freshDb()), { numRuns: 25, timeout: 300_000 });
