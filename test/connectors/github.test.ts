import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectorError, commitSync, runConnector, type GraphStore, type SyncEvent, type SyncOutput } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import createConnectorFromModule, {
  GitHubConnector,
  GITHUB_TYPES,
  createGitHubConnector,
  teamPermission,
  type GitHubRateLimit,
} from '../../connectors/github/index.js';
import { startGitHubFixtureServer, type GitHubFixtureServer, type GitHubFixtureServerOptions } from '../fixtures/github-server.js';

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
