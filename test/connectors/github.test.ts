import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConnectorError,
  commitSync,
  entityId,
  runConnector,
  validateConnector,
  type GraphStore,
  type StepContext,
  type StepPage,
  type SyncEvent,
  type SyncOutput,
} from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import createConnectorFromModule, {
  GitHubConnector,
  GITHUB_TYPES,
  createGitHubConnector,
  teamPermission,
  type GitHubRateLimit,
} from '../../connectors/github/index.js';
import { startGitHubFixtureServer, type GitHubFixtureServer, type GitHubFixtureServerOptions } from '../fixtures/github-server.js';
import { listAll } from 'parallax-edge/testing';

const ACCOUNT = 'acme';
const byId = (ids: Record<string, number>, name: string): string => String(ids[name]);
const REPO = { 'nimbus-core': 482910331, 'legacy-dashboard': 301877250, 'awesome-graph-security': 644019775, 'infra-live': 671330918, 'nimbus-rs': 701822641 };
const USER = { jdelacroix: 918334, 'rpatel-ops': 88120456, 'nimbus-release-bot': 141552030 };
const TEAM = { platform: 7340012, docs: 7340019 };
const ORG_ID = '158722001';

describe('GitHub connector against recorded GitHub fixtures on 127.0.0.1', () => {
  let api: GitHubFixtureServer;
  let store: GraphStore;
  let run = 0;

  const start = async (options: GitHubFixtureServerOptions = {}): Promise<void> => {
    await api?.close();
    api = await startGitHubFixtureServer(options);
  };
  const connector = (config: Record<string, unknown> = {}, onRateLimit?: (s: GitHubRateLimit) => void): GitHubConnector =>
    createGitHubConnector({ org: api.org, baseUrl: api.url, ...config }, onRateLimit ? { onRateLimit } : {});
  const sync = async (c: GitHubConnector = connector(), options: { concurrency?: number; events?: SyncEvent[] } = {}) => {
    const output = await runConnector(c, {
      accountId: ACCOUNT,
      syncId: `sync-${++run}`,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(options.events ? { onEvent: (e: SyncEvent) => options.events!.push(e) } : {}),
    });
    return { output, result: await commitSync(store, output) };
  };
  const find = (type: string, key: string) => store.findEntity(ACCOUNT, type, key);
  const stepError = (output: SyncOutput, stepId: string) => output.steps.find((s) => s.stepId === stepId)?.error;

  beforeEach(async () => {
    await start();
    store = createMemoryStore();
  });
  afterEach(async () => {
    await api.close();
  });

  describe('anonymous (no token)', () => {
    it('collects the organization, its public repositories and public members, each linked by org HAS, and no teams', async () => {
      const events: SyncEvent[] = [];
      const { output, result } = await sync(connector(), { events });
      expect(output.failedSteps).toEqual([]);
      // 1 organization + 8 public repositories + 5 public members; 13 HAS edges.
      expect(result.stats).toMatchObject({ entitiesCreated: 14, relationshipsCreated: 13, entitiesDeleted: 0 });
      const counts = await store.counts({ accountId: ACCOUNT });
      expect(counts.entitiesByClass).toEqual({ Organization: 1, CodeRepo: 8, User: 5 });
      expect(counts.relationshipsByVerb).toEqual({ HAS: 13 });

      expect(await find(GITHUB_TYPES.organization, ORG_ID)).toMatchObject({
        entityClass: 'Organization',
        displayName: 'Nimbus Labs',
        properties: { login: 'nimbus-labs', verified: true, public_repos: 8, html_url: 'https://github.com/nimbus-labs' },
      });
      expect(await find(GITHUB_TYPES.repository, byId(REPO, 'nimbus-core'))).toMatchObject({
        entityClass: 'CodeRepo',
        displayName: 'nimbus-core',
        stepId: 'repositories',
        properties: {
          full_name: 'nimbus-labs/nimbus-core',
          visibility: 'public',
          private: false,
          archived: false,
          fork: false,
          default_branch: 'main',
          language: 'TypeScript',
          topics: ['graph', 'security', 'sync', 'typescript'],
          stars: 1240,
          forks: 88,
          license: 'Apache-2.0',
          pushed_at: '2025-11-21T16:48:03Z',
        },
      });
      expect((await find(GITHUB_TYPES.repository, byId(REPO, 'legacy-dashboard')))?.properties).toMatchObject({ archived: true, default_branch: 'master' });
      expect((await find(GITHUB_TYPES.repository, byId(REPO, 'awesome-graph-security')))?.properties).toMatchObject({ fork: true, language: null });
      // Private repositories and concealed members are invisible without a token.
      expect(await find(GITHUB_TYPES.repository, byId(REPO, 'infra-live'))).toBeUndefined();
      expect(await find(GITHUB_TYPES.user, byId(USER, 'rpatel-ops'))).toBeUndefined();

      const teamsWarning = events.find((e) => e.type === 'warning' && e.stepId === 'teams');
      expect(teamsWarning).toMatchObject({ message: expect.stringContaining('only with a token') });
    });

    it('sends no Authorization header, GitHub media type and API version, and stays far inside 60 requests an hour', async () => {
      await sync();
      expect(api.requests.length).toBe(4); // org, repos page 1 and 2, public members
      for (const request of api.requests) {
        expect(request.authorization).toBeUndefined();
        expect(request.apiVersion).toBe('2022-11-28');
        expect(request.userAgent).toBe('parallax-edge-github-connector');
      }
    });

    it('follows Link rel="next" as GitHub writes it (/organizations/{id}/repos?page=2), not a URL it builds', async () => {
      await sync();
      const repoPages = api.requests.filter((r) => r.url.includes('/repos'));
      expect(repoPages.map((r) => r.url)).toEqual([
        '/orgs/nimbus-labs/repos?type=all&sort=full_name&per_page=100',
        `/organizations/${ORG_ID}/repos?type=all&sort=full_name&per_page=100&page=2`,
      ]);
    });
  });

  describe('with a token', () => {
    it('sends Authorization: Bearer on every request and adds private repositories, concealed members, teams, team HAS user and team MANAGES repo', async () => {
      const { output, result } = await sync(connector({ token: api.token }));
      expect(output.failedSteps).toEqual([]);
      expect(api.requests.every((r) => r.authorization === `Bearer ${api.token}`)).toBe(true);
      // 1 org + 9 repos + 7 members + 2 teams; HAS: 9 + 7 + 2 + 7 team members; MANAGES: 8.
      expect(result.stats).toMatchObject({ entitiesCreated: 19, relationshipsCreated: 33 });
      const counts = await store.counts({ accountId: ACCOUNT });
      expect(counts.entitiesByClass).toEqual({ Organization: 1, CodeRepo: 9, User: 7, Team: 2 });
      expect(counts.relationshipsByVerb).toEqual({ HAS: 25, MANAGES: 8 });

      expect((await find(GITHUB_TYPES.repository, byId(REPO, 'infra-live')))?.properties).toMatchObject({ visibility: 'private', private: true });
      expect((await find(GITHUB_TYPES.user, byId(USER, 'nimbus-release-bot')))?.properties).toMatchObject({ type: 'Bot' });
      const platform = await find(GITHUB_TYPES.team, String(TEAM.platform));
      expect(platform).toMatchObject({ entityClass: 'Team', displayName: 'Platform', properties: { slug: 'platform', privacy: 'closed' } });

      const access = await store.listRelationships({ accountId: ACCOUNT, entityId: platform!.id, direction: 'out', verb: 'MANAGES' });
      const permissions = Object.fromEntries(
        await Promise.all(access.items.map(async (r) => [(await store.getEntity(r.toId))!.displayName, r.properties.permission])),
      );
      expect(permissions).toEqual({
        'nimbus-core': 'admin',
        'nimbus-cli': 'admin',
        'terraform-provider-nimbus': 'maintain',
        'helm-charts': 'push',
        'infra-live': 'admin',
      });
      const members = await store.listRelationships({ accountId: ACCOUNT, entityId: platform!.id, direction: 'out', verb: 'HAS' });
      expect(members.items).toHaveLength(4);
    });

    it('team-members emits a team member the members listing did not show, so team HAS user never dangles (INV-C04)', async () => {
      // The token sees members; hide the bot from the org listing as if it were an outside member.
      api.mutate((f) => f.set('/orgs/nimbus-labs/members', (f.get('/orgs/nimbus-labs/members') as { login: string }[]).filter((u) => u.login !== 'nimbus-release-bot')));
      const { output, result } = await sync(connector({ token: api.token }));
      expect(output.failedSteps).toEqual([]);
      expect(output.steps.find((s) => s.stepId === 'team-members')).toMatchObject({ entities: 1, relationships: 7 });
      expect(result.stats.entitiesCreated).toBe(19);
      expect(await find(GITHUB_TYPES.user, byId(USER, 'nimbus-release-bot'))).toMatchObject({ stepId: 'team-members' });
    });

    it('a wrong token fails every API step as AuthFailed, and +P1 keeps everything stored', async () => {
      await sync(connector({ token: api.token }));
      const { output, result } = await sync(connector({ token: 'ghp_wrong' }));
      expect(stepError(output, 'organization')).toMatchObject({ kind: 'AuthFailed', status: 401 });
      expect(result.stats).toMatchObject({ entitiesDeleted: 0, relationshipsDeleted: 0, entitiesKept: 19, relationshipsKept: 33 });
    });

    it('reports the 5,000-an-hour budget to onRateLimit as answers arrive', async () => {
      const seen: GitHubRateLimit[] = [];
      const c = connector({ token: api.token }, (s) => seen.push(s));
      await sync(c);
      expect(seen.length).toBe(api.requests.length);
      expect(seen.at(-1)).toMatchObject({ limit: 5000, remaining: 5000 - api.requests.length, resource: 'core', limited: false, authenticated: true });
      expect(c.rateLimit?.resetAt).toBe(api.rateLimitReset * 1000);
    });
  });

  describe('pagination and limits', () => {
    it('follows every page until a page has no rel="next" (2 items per page: 5 pages of repositories)', async () => {
      await start({ pageSize: 2 });
      const { result } = await sync();
      expect(result.stats.entitiesCreated).toBe(14);
      expect(api.requests.filter((r) => r.url.includes('/repos')).length).toBe(4);
      expect(api.requests.filter((r) => r.url.includes('/public_members')).length).toBe(3);
    });

    it('a listing longer than limits.maxPages fails its step instead of treating the rest as deleted (+P1)', async () => {
      await sync();
      await start({ pageSize: 2 });
      const { output, result } = await sync(connector({ limits: { maxPages: 2 } }));
      expect(output.failedSteps).toEqual(['repositories', 'members']);
      expect(stepError(output, 'repositories')?.message).toMatch(/maxPages \(2\)/);
      expect(result.stats).toMatchObject({ entitiesDeleted: 0, entitiesKept: 13, entitiesUnchanged: 1 });
    });

    it('limits.maxRepos keeps the first repositories with a warning, and team access to the others is left out rather than dangling (INV-C04)', async () => {
      const events: SyncEvent[] = [];
      const { output, result } = await sync(connector({ token: api.token, limits: { maxRepos: 3 } }), { events });
      expect(output.failedSteps).toEqual([]);
      expect((await store.counts({ accountId: ACCOUNT })).entitiesByClass.CodeRepo).toBe(3);
      const warnings = events.filter((e): e is Extract<SyncEvent, { type: 'warning' }> => e.type === 'warning');
      expect(warnings.some((w) => w.stepId === 'repositories' && w.field === 'limits.maxRepos')).toBe(true);
      expect(warnings.some((w) => w.stepId === 'team-repos' && /not in the graph/.test(w.message))).toBe(true);
      expect(result.stats.relationshipsCreated).toBeGreaterThan(0);
    });
  });

  describe('paged steps (issue 12): one step page per page of a GitHub listing', () => {
    /** The connector with every page's step, cursor and returned next recorded. */
    const recording = (c: GitHubConnector) => {
      const pages: { stepId: string; cursor: string | undefined; next: string | undefined }[] = [];
      const wrapped = {
        name: c.name,
        steps: () => c.steps(),
        async executeStep(stepId: string, ctx: StepContext): Promise<void | StepPage> {
          const cursor = ctx.cursor;
          const page = await c.executeStep(stepId, ctx);
          pages.push({ stepId, cursor, next: page ? page.next : undefined });
          return page;
        },
      };
      return { connector: wrapped, pages };
    };
    const listingRequests = (pattern: RegExp): number => api.requests.filter((r) => pattern.test(r.url)).length;
    const rowsOf = async (s: GraphStore) => ({
      entities: await listAll((q) => s.listEntities({ ...q, accountId: ACCOUNT })),
      relationships: await listAll((q) => s.listRelationships({ ...q, accountId: ACCOUNT })),
    });

    it('every listing step is paged and reads prior data only through the bounded API (iteratesPrior)', () => {
      const graph = validateConnector(connector());
      for (const id of graph.order) {
        const definition = graph.steps.get(id)!;
        expect(definition, id).toMatchObject(id === 'organization' ? {} : { paged: true, iteratesPrior: true });
        if (definition.dependsOn.length > 0) expect(definition.iteratesPrior, id).toBe(true);
      }
    });

    it('the cursor is the next page\'s Link URL with its page number, and each step page makes one request', async () => {
      await start({ pageSize: 2 });
      const { connector: c, pages } = recording(connector());
      const output = await runConnector(c, { accountId: ACCOUNT, syncId: 'pages' });
      expect(output.failedSteps).toEqual([]);
      const repos = pages.filter((p) => p.stepId === 'repositories');
      expect(repos.map((p) => p.cursor && JSON.parse(p.cursor))).toEqual([
        undefined,
        { url: `${api.url}/organizations/${ORG_ID}/repos?type=all&sort=full_name&per_page=100&page=2`, page: 2, count: 2 },
        { url: `${api.url}/organizations/${ORG_ID}/repos?type=all&sort=full_name&per_page=100&page=3`, page: 3, count: 4 },
        { url: `${api.url}/organizations/${ORG_ID}/repos?type=all&sort=full_name&per_page=100&page=4`, page: 4, count: 6 },
      ]);
      expect(repos.at(-1)!.next).toBeUndefined();
      // Each page's next is the following page's cursor.
      expect(repos.slice(0, -1).map((p) => p.next)).toEqual(repos.slice(1).map((p) => p.cursor));
      expect(output.steps.find((s) => s.stepId === 'repositories')).toMatchObject({ pages: 4, entities: 8 });
      expect(output.steps.find((s) => s.stepId === 'members')).toMatchObject({ pages: 3, entities: 5 });
      expect(listingRequests(/\/repos\?/)).toBe(4);
      expect(listingRequests(/\/public_members\?/)).toBe(3);
    });

    it('the team steps page through each team\'s listing, the teams in id order, one request a page', async () => {
      await start({ pageSize: 2 });
      const { connector: c, pages } = recording(connector({ token: api.token }));
      const output = await runConnector(c, { accountId: ACCOUNT, syncId: 'teams' });
      expect(output.failedSteps).toEqual([]);
      const byId = [String(TEAM.platform), String(TEAM.docs)].sort((a, b) => (entityId(ACCOUNT, GITHUB_TYPES.team, a) < entityId(ACCOUNT, GITHUB_TYPES.team, b) ? -1 : 1));
      const teamsPaged = (stepId: string) => pages.filter((p) => p.stepId === stepId).map((p) => (p.cursor === undefined ? undefined : JSON.parse(p.cursor).team));
      // platform: 4 members, 5 repositories; docs: 3 members, 3 repositories; 2 a page.
      const pagesOf = { [String(TEAM.platform)]: { members: 2, repos: 3 }, [String(TEAM.docs)]: { members: 2, repos: 2 } };
      const expected = (what: 'members' | 'repos') => [undefined, ...Array(pagesOf[byId[0]!]![what] - 1).fill(byId[0]), ...Array(pagesOf[byId[1]!]![what]).fill(byId[1])];
      expect(teamsPaged('team-members')).toEqual(expected('members'));
      expect(teamsPaged('team-repos')).toEqual(expected('repos'));
      expect(listingRequests(/\/teams\/[a-z]+\/members\?/)).toBe(4);
      expect(listingRequests(/\/teams\/[a-z]+\/repos\?/)).toBe(5);
      expect(output.steps.find((s) => s.stepId === 'team-members')).toMatchObject({ pages: 4, entities: 0, relationships: 7 });
      expect(output.steps.find((s) => s.stepId === 'team-repos')).toMatchObject({ pages: 5, relationships: 8 });
    });

    it.each([1, 2, 5])('pages of %i items commit the same rows as one page per listing, in memory and streamed into the store', async (pageSize) => {
      const reference = createMemoryStore();
      await start();
      const one = await runConnector(connector({ token: api.token }), { accountId: ACCOUNT, syncId: 'same' });
      const expected = await commitSync(reference, one);
      await start({ pageSize });
      const inMemory = await commitSync(store, await runConnector(connector({ token: api.token }), { accountId: ACCOUNT, syncId: 'same' }));
      const streamedStore = createMemoryStore();
      const streamed = await commitSync(
        streamedStore,
        await runConnector(connector({ token: api.token }), { accountId: ACCOUNT, syncId: 'same', store: streamedStore }),
      );
      expect(inMemory.stats).toEqual(expected.stats);
      expect(streamed.stats).toEqual(expected.stats);
      const rows = await rowsOf(reference);
      expect(rows.entities).toHaveLength(19);
      expect(await rowsOf(store)).toEqual(rows);
      expect(await rowsOf(streamedStore)).toEqual(rows);
    });

    it('streamed, a changed organization re-syncs as the same updated, created and deleted rows as in memory', async () => {
      await start({ pageSize: 2 });
      const streamedStore = createMemoryStore();
      const both = async (syncId: string) => {
        const a = await commitSync(store, await runConnector(connector({ token: api.token }), { accountId: ACCOUNT, syncId }));
        const b = await commitSync(streamedStore, await runConnector(connector({ token: api.token }), { accountId: ACCOUNT, syncId, store: streamedStore }));
        expect(b.stats).toEqual(a.stats);
        return b;
      };
      await both('first');
      api.setGeneration(1);
      const changed = await both('second');
      expect(changed.stats).toMatchObject({ entitiesUpdated: 3, entitiesCreated: 1, entitiesDeleted: 2, relationshipsUpdated: 1, relationshipsDeleted: 3 });
      expect(await rowsOf(streamedStore)).toEqual(await rowsOf(store));
      const unchanged = await both('third');
      expect(unchanged.rowsWritten).toBe(0);
    });

    it.each(['memory', 'streamed'] as const)(
      'a team member missing from the members listing and in both teams is emitted once across the teams\' pages (%s, INV-C04)',
      async (mode) => {
        await start({ pageSize: 1 });
        const bot = (f: Map<string, unknown>) => (f.get('/orgs/nimbus-labs/members') as { login: string }[]).find((u) => u.login === 'nimbus-release-bot')!;
        api.mutate((f) => {
          f.set('/orgs/nimbus-labs/teams/docs/members', [...(f.get('/orgs/nimbus-labs/teams/docs/members') as unknown[]), bot(f)]);
          f.set('/orgs/nimbus-labs/members', (f.get('/orgs/nimbus-labs/members') as { login: string }[]).filter((u) => u.login !== 'nimbus-release-bot'));
        });
        const events: SyncEvent[] = [];
        const output = await runConnector(connector({ token: api.token }), {
          accountId: ACCOUNT,
          syncId: `bot-${mode}`,
          onEvent: (e) => events.push(e),
          ...(mode === 'streamed' ? { store } : {}),
        });
        expect(output.failedSteps).toEqual([]);
        expect(output.steps.find((s) => s.stepId === 'team-members')).toMatchObject({ pages: 8, entities: 1, relationships: 8, rejected: 0, warnings: 0 });
        expect(events.filter((e) => e.type === 'warning' && e.stepId === 'team-members')).toEqual([]);
        const { stats } = await commitSync(store, output);
        expect(stats.entitiesCreated).toBe(19);
        expect(await find(GITHUB_TYPES.user, byId(USER, 'nimbus-release-bot'))).toMatchObject({ stepId: 'team-members' });
      },
    );

    it('limits.maxRepos: the team-repos warning counts the repositories left out across all of a team\'s pages', async () => {
      const warningsAt = async (pageSize: number): Promise<string[]> => {
        await start({ pageSize });
        const events: SyncEvent[] = [];
        const output = await runConnector(connector({ token: api.token, limits: { maxRepos: 2 } }), { accountId: ACCOUNT, onEvent: (e) => events.push(e) });
        expect(output.failedSteps).toEqual([]);
        return events.flatMap((e) => (e.type === 'warning' && e.stepId === 'team-repos' ? [e.message] : [])).sort();
      };
      const whole = await warningsAt(100);
      expect(whole).toEqual([
        'team "docs" has access to 2 repositories not in the graph (nimbus-labs/nimbus-docs, nimbus-labs/nimbus-python); their access is left out',
        'team "platform" has access to 3 repositories not in the graph (nimbus-labs/terraform-provider-nimbus, nimbus-labs/helm-charts, nimbus-labs/infra-live); their access is left out',
      ]);
      expect(await warningsAt(1)).toEqual(whole);
      // More than three left out: three names, then an ellipsis.
      await start({ pageSize: 1 });
      const events: SyncEvent[] = [];
      await runConnector(connector({ token: api.token, limits: { maxRepos: 1 } }), { accountId: ACCOUNT, onEvent: (e) => events.push(e) });
      expect(events.find((e) => e.type === 'warning' && e.stepId === 'team-repos' && e.message.includes('"platform"'))).toMatchObject({
        message: 'team "platform" has access to 4 repositories not in the graph (nimbus-labs/nimbus-cli, nimbus-labs/terraform-provider-nimbus, nimbus-labs/helm-charts, …); their access is left out',
      });
    });

    it('+P1 streamed: a listing that fails on a later page stages nothing of its earlier pages, and its stored rows are kept', async () => {
      const { output: good } = await sync();
      await start({ pageSize: 2 });
      const output = await runConnector(connector({ limits: { maxPages: 2 } }), { accountId: ACCOUNT, syncId: 'capped', store });
      expect(output.failedSteps).toEqual(['repositories', 'members']);
      // The second page links to a third: the step fails there, having emitted the first page.
      expect(output.steps.find((s) => s.stepId === 'repositories')).toMatchObject({ pages: 2, entities: 2 });
      const { stats } = await commitSync(store, output);
      expect(stats).toMatchObject({ entitiesDeleted: 0, entitiesKept: 13, entitiesUnchanged: 1, entitiesCreated: 0, entitiesUpdated: 0 });
      const repos = await listAll((q) => store.listEntities({ ...q, accountId: ACCOUNT, type: GITHUB_TYPES.repository }));
      expect(repos).toHaveLength(8);
      expect(repos.every((r) => r.syncId === good.syncId)).toBe(true);
    });

    it.each([
      ['not JSON', '{"url":'],
      ['an unknown key', JSON.stringify({ page: 2, url: 'http://127.0.0.1:1/x', __proto__: 1, extra: true })],
      ['a URL without a page', JSON.stringify({ url: 'http://127.0.0.1:1/x' })],
      ['a page below 2', JSON.stringify({ url: 'http://127.0.0.1:1/x', page: 1 })],
      ['a URL on another origin', JSON.stringify({ url: 'https://evil.example/orgs/nimbus-labs/repos?page=2', page: 2 })],
      ['a huge string', 'x'.repeat(100_000)],
    ])('a cursor that is not one of its pages (%s) fails the page as Validation naming the cursor, without a request', async (_what, cursor) => {
      const c = connector();
      const ctx = {
        stepId: 'members',
        cursor,
        signal: new AbortController().signal,
        prior: {
          async *iterateEntities() {
            yield { entityType: GITHUB_TYPES.organization, entityKey: ORG_ID, entityClass: 'Organization', displayName: 'Nimbus Labs', properties: { login: 'nimbus-labs' } };
          },
        },
      } as unknown as StepContext;
      const refused = c.executeStep('members', ctx);
      await expect(refused).rejects.toMatchObject({ kind: 'Validation', field: 'cursor', stepId: 'members' });
      await expect(refused.catch((e: Error) => e.message.length)).resolves.toBeLessThan(400);
      expect(api.requests).toHaveLength(0);
    });

    it('a team cursor naming no team of the teams step is refused', async () => {
      const c = connector({ token: api.token });
      // team-members' first page is handed a cursor of a team the teams step did not emit.
      const foreign = (ctx: StepContext): StepContext => Object.assign(Object.create(ctx) as StepContext, { cursor: JSON.stringify({ team: '1' }) });
      const output = await runConnector(
        { name: c.name, steps: () => c.steps(), executeStep: (stepId, ctx) => c.executeStep(stepId, stepId === 'team-members' ? foreign(ctx) : ctx) },
        { accountId: ACCOUNT },
      );
      expect(output.steps.find((s) => s.stepId === 'team-members')?.error).toMatchObject({
        kind: 'Validation',
        field: 'cursor',
        message: expect.stringMatching(/step "team-members" got a cursor that names no team of the teams step/),
      });
    });
  });

  describe('rate limit', () => {
    it('anonymous: when the 60 requests an hour run out mid-listing, the failing steps say so with the reset time, and +P1 keeps their rows', async () => {
      await sync();
      api.clearRequests();
      api.setRateLimitRemaining(2); // the organization and the first page of repositories
      const { output, result } = await sync(connector(), { concurrency: 1 });
      expect(output.failedSteps).toEqual(['repositories', 'members']);
      const resetIso = new Date(api.rateLimitReset * 1000).toISOString();
      const repos = stepError(output, 'repositories')!;
      expect(repos).toBeInstanceOf(ConnectorError);
      expect(repos).toMatchObject({ kind: 'Api', status: 403, stepId: 'repositories' });
      expect(repos.message).toContain(`GitHub's rate limit stopped step "repositories": 0 of 60 requests left for anonymous requests; it resets at ${resetIso}`);
      expect(repos.message).toMatch(/in 60 min\. Anonymous callers get 60 requests an hour: set a token for 5,000/);
      // The members step fails at once, without spending a request on a certain 403.
      expect(stepError(output, 'members')?.message).toContain(`rate limit stopped step "members"`);
      expect(api.requests.map((r) => r.status)).toEqual([200, 200, 403]);
      expect(result.stats).toMatchObject({ entitiesDeleted: 0, relationshipsDeleted: 0, entitiesKept: 13, entitiesUnchanged: 1 });
    });

    it('onRateLimit reports the refusal (limited, 0 remaining)', async () => {
      await start({ rateLimitRemaining: 1 });
      const seen: GitHubRateLimit[] = [];
      const c = connector({}, (s) => seen.push(s));
      const { output } = await sync(c, { concurrency: 1 });
      expect(output.failedSteps).toEqual(['repositories', 'members']);
      expect(seen.at(-1)).toMatchObject({ remaining: 0, limit: 60, authenticated: false });
      expect(c.rateLimit?.remaining).toBe(0);
    });
  });

  describe('re-sync', () => {
    it('+P2: an unchanged re-sync writes nothing and reports every row unchanged', async () => {
      await sync(connector({ token: api.token }));
      const { result } = await sync(connector({ token: api.token }));
      expect(result.rowsWritten).toBe(0);
      expect(result.stats).toMatchObject({ entitiesUnchanged: 19, relationshipsUnchanged: 33, entitiesCreated: 0, entitiesUpdated: 0 });
    });

    it('a changed organization shows as updated, created and deleted rows (anonymous)', async () => {
      await sync();
      api.setGeneration(1);
      const { result } = await sync();
      // updated: the org (updated_at), nimbus-core (stars, push), nimbus-cli (topics); created: nimbus-rs;
      // deleted: legacy-dashboard and jdelacroix, with their org HAS edges.
      expect(result.stats).toMatchObject({
        entitiesUpdated: 3,
        entitiesCreated: 1,
        entitiesDeleted: 2,
        entitiesUnchanged: 9,
        relationshipsCreated: 1,
        relationshipsDeleted: 2,
        relationshipsUnchanged: 11,
      });
      expect((await find(GITHUB_TYPES.repository, byId(REPO, 'nimbus-core')))?.properties.stars).toBe(1251);
      expect(await find(GITHUB_TYPES.repository, byId(REPO, 'legacy-dashboard'))).toBeUndefined();
      expect(await find(GITHUB_TYPES.repository, byId(REPO, 'nimbus-rs'))).toMatchObject({ properties: { language: 'Rust' } });
    });

    it('with a token, a changed team permission updates its MANAGES edge, and a leaver loses team HAS user too', async () => {
      await sync(connector({ token: api.token }));
      api.setGeneration(1);
      const { result } = await sync(connector({ token: api.token }));
      expect(result.stats).toMatchObject({ entitiesUpdated: 3, entitiesCreated: 1, entitiesDeleted: 2, relationshipsUpdated: 1, relationshipsDeleted: 3 });
      const docs = await find(GITHUB_TYPES.team, String(TEAM.docs));
      const core = await find(GITHUB_TYPES.repository, byId(REPO, 'nimbus-core'));
      const edge = (await store.listRelationships({ accountId: ACCOUNT, entityId: docs!.id, direction: 'out', verb: 'MANAGES' })).items.find(
        (r) => r.toId === core!.id,
      );
      expect(edge?.properties).toEqual({ permission: 'push' });
    });
  });

  describe('errors', () => {
    it('an unknown organization fails the organization step with a 404 naming config.org; its dependents say they need it', async () => {
      const { output } = await sync(createGitHubConnector({ org: 'no-such-org', baseUrl: api.url }));
      expect(stepError(output, 'organization')).toMatchObject({ kind: 'Api', status: 404, field: 'org' });
      expect(stepError(output, 'organization')?.message).toMatch(/no organization "no-such-org".*config\.org/);
      expect(stepError(output, 'repositories')?.message).toMatch(/needs the organization/);
      expect(api.requests).toHaveLength(1);
    });
  });
});

describe('GitHub connector configuration', () => {
  const configError = (config: unknown): ConnectorError => {
    try {
      createGitHubConnector(config);
    } catch (error) {
      expect(error).toBeInstanceOf(ConnectorError);
      return error as ConnectorError;
    }
    throw new Error('expected a Configuration error');
  };

  it.each([
    ['a missing org', {}, 'org', /config\.org is required/],
    ['an org that is not a login', { org: 'acme corp' }, 'org', /config\.org must be a GitHub organization login/],
    ['a token that is not a string', { org: 'acme', token: 42 }, 'token', /config\.token must be a string/],
    ['a baseUrl that is not http(s)', { org: 'acme', baseUrl: 'ftp://example.com' }, 'baseUrl', /config\.baseUrl must be an absolute http\(s\) URL/],
    ['limits.maxRepos below 1', { org: 'acme', limits: { maxRepos: 0 } }, 'limits.maxRepos', /config\.limits\.maxRepos must be at least 1/],
    ['limits.perPage above 100', { org: 'acme', limits: { perPage: 500 } }, 'limits.perPage', /at most 100/],
    ['limits.maxPages not a whole number', { org: 'acme', limits: { maxPages: 2.5 } }, 'limits.maxPages', /must be a whole number/],
    ['an unknown key (a misspelt token)', { org: 'acme', tokn: 'x' }, 'tokn', /config has unknown key "tokn"/],
    ['an unknown limit', { org: 'acme', limits: { maxRepo: 5 } }, 'limits.maxRepo', /config\.limits has unknown key "maxRepo"/],
    ['a config that is not an object', 'acme', 'config', /must be an object/],
  ])('%s throws ConnectorError Configuration naming the field', (_what, config, field, message) => {
    const error = configError(config);
    expect(error.kind).toBe('Configuration');
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('defaults: api.github.com, 1,000 repositories, 20 pages of 100; an empty token means anonymous', () => {
    const c = createGitHubConnector({ org: ' nodejs ', token: '  ' });
    expect(c.config).toEqual({
      org: 'nodejs',
      token: undefined,
      baseUrl: 'https://api.github.com',
      limits: { maxRepos: 1000, maxPages: 20, perPage: 100 },
      timeoutMs: 30_000,
      rateLimitWaitMs: 60_000,
    });
    expect(c.authenticated).toBe(false);
  });

  it('the default export is the factory the CLI calls with the --config JSON', () => {
    expect(createConnectorFromModule({ org: 'nodejs' })).toBeInstanceOf(GitHubConnector);
  });

  it('teamPermission prefers role_name, else the strongest permissions flag', () => {
    expect(teamPermission({ role_name: 'security-reviewer', permissions: { pull: true } })).toBe('security-reviewer');
    expect(teamPermission({ role_name: null, permissions: { admin: false, maintain: true, push: true, pull: true } })).toBe('maintain');
    expect(teamPermission({ role_name: undefined, permissions: undefined })).toBeNull();
  });
});

describe('the GitHub connector is platform-neutral (Node, workerd, browsers)', () => {
  const dir = join(import.meta.dirname, '../../connectors/github');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

  it.each(files)('%s imports only parallax-edge, parallax-edge/http, zod and its own files, and no Node globals', (file) => {
    const code = readFileSync(join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
    const specifiers = [...code.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
    for (const spec of specifiers) {
      expect(['parallax-edge', 'parallax-edge/http', 'zod'].includes(spec) || spec.startsWith('./'), `${file} imports ${spec}`).toBe(true);
    }
    expect(code).not.toMatch(/\b(process\.|Buffer\b|require\(|__dirname|document\.|window\.|localStorage|indexedDB)/);
  });
});
