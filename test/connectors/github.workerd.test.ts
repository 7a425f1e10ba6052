/// <reference types="vite/client" />
/**
 * The GitHub connector, unchanged, inside workerd (the Workers runtime): its
 * HTTP client, zod schemas, Link pagination and rate-limit handling run on
 * workerd's fetch, Request, Headers and AbortSignal. The fixture API is the
 * same web-standard handler the Node server wraps, given to the connector as
 * its `fetch`, so nothing leaves the isolate.
 */
import { describe, expect, it } from 'vitest';
import { commitSync, runConnector } from 'parallax-edge';
import { createMemoryStore } from 'parallax-edge/adapters/memory';
import { createGitHubConnector } from '../../connectors/github/index.js';
import { createGitHubFixtureApi, type GitHubFixtureApiOptions, type GitHubFixtures } from '../fixtures/github-api.js';

const recorded = import.meta.glob('../fixtures/github/**/*.json', { eager: true, import: 'default' });
const loadFixtures = (): GitHubFixtures =>
  new Map(Object.entries(recorded).map(([file, body]) => [file.replace(/^\.\.\/fixtures\/github/, '').replace(/\.json$/, ''), structuredClone(body)]));

const BASE = 'https://api.github.test';

function setup(options: GitHubFixtureApiOptions = {}) {
  const api = createGitHubFixtureApi(loadFixtures, options);
  const connector = (token?: string) =>
    createGitHubConnector({ org: api.org, baseUrl: BASE, ...(token ? { token } : {}) }, { fetch: async (request) => api.handle(request) });
  return { api, connector };
}

describe('GitHub connector in workerd', () => {
  it('runs unchanged: a full anonymous sync follows Link pages and commits the org, repositories and members', async () => {
    const { api, connector } = setup();
    expect(loadFixtures().size).toBe(9);
    const output = await runConnector(connector(), { accountId: 'acme' });
    expect(output.failedSteps).toEqual([]);
    const { stats } = await commitSync(createMemoryStore(), output);
    expect(stats).toMatchObject({ entitiesCreated: 14, relationshipsCreated: 13 });
    expect(api.requests.map((r) => r.url)).toContain('/organizations/158722001/repos?type=all&sort=full_name&per_page=100&page=2');
    // Workers send no User-Agent of their own; GitHub refuses requests without one.
    expect(api.requests.every((r) => r.userAgent === 'parallax-edge-github-connector')).toBe(true);
  });

  it('with a token: Authorization: Bearer, teams and team access; a changed org re-syncs as updated/created/deleted', async () => {
    const { api, connector } = setup();
    const store = createMemoryStore();
    const first = await commitSync(store, await runConnector(connector(api.token), { accountId: 'acme' }));
    expect(first.stats).toMatchObject({ entitiesCreated: 19, relationshipsCreated: 33 });
    expect(api.requests.every((r) => r.authorization === `Bearer ${api.token}`)).toBe(true);
    api.setGeneration(1);
    const second = await commitSync(store, await runConnector(connector(api.token), { accountId: 'acme' }));
    expect(second.stats).toMatchObject({ entitiesUpdated: 3, entitiesCreated: 1, entitiesDeleted: 2, relationshipsUpdated: 1, relationshipsDeleted: 3 });
  });

  it('an exhausted anonymous rate limit fails the steps with a message that gives the reset time', async () => {
    const { api, connector } = setup({ rateLimitRemaining: 2 });
    const output = await runConnector(connector(), { accountId: 'acme', concurrency: 1 });
    expect(output.failedSteps).toEqual(['repositories', 'members']);
    const reset = new Date(api.rateLimitReset * 1000).toISOString();
    expect(output.steps.find((s) => s.stepId === 'repositories')?.error?.message).toContain(
      `GitHub's rate limit stopped step "repositories": 0 of 60 requests left for anonymous requests; it resets at ${reset}`,
    );
  });
});
