/** The query benchmark inside workerd on a local D1 (bench/query.ts starts it in Miniflare): POST /run {n, repeat}. */
import { createD1Store, migrateD1, type D1DatabaseLike } from '../adapters/d1.js';
import { runQueryBench } from './query-suite.js';

export default {
  async fetch(request: Request, env: { DB: D1DatabaseLike }): Promise<Response> {
    const { n, repeat } = (await request.json()) as { n: number; repeat: number };
    try {
      await migrateD1(env.DB);
      const logs: string[] = [];
      const result = await runQueryBench(createD1Store(env.DB), n, (line) => logs.push(line), repeat);
      return Response.json({ result, logs });
    } catch (error) {
      return Response.json({ error: String((error as Error)?.stack ?? error) }, { status: 500 });
    }
  },
};
