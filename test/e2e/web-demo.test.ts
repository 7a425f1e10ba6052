/**
 * End to end in real Chromium (the one test/support/chromium.ts finds: the
 * system's or the npm one, driven by playwright-core): the demo is built with Vite and served by `vite preview`
 * on 127.0.0.1, the GitHub fixture API runs on another port, and the page
 * syncs through `?api=`. Nothing leaves the machine.
 *
 * Artifacts: test-results/web-demo.png (and web-demo-rate-limited.png).
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubFixtureServer, type GitHubFixtureServer, type RecordedRequest } from '../fixtures/github-server.js';
import { CHROMIUM_ARGS, resolveChromium } from '../support/chromium.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'test-results');

describe('web demo in Chromium: GitHub fixture API → connector in the page → IndexedDB', () => {
  let api: GitHubFixtureServer;
  let server: PreviewServer;
  let outDir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let demoUrl: string;
  const pageErrors: string[] = [];

  const text = (testid: string) => page.getByTestId(testid).innerText();
  const stat = async (name: 'created' | 'updated' | 'unchanged' | 'deleted') => Number((await text(`stat-${name}`)).replace(/,/g, ''));
  const stats = async () => ({ created: await stat('created'), updated: await stat('updated'), unchanged: await stat('unchanged'), deleted: await stat('deleted') });
  const totals = async () => {
    const el = page.getByTestId('totals');
    return { entities: Number(await el.getAttribute('data-entities')), relationships: Number(await el.getAttribute('data-relationships')) };
  };
  const stepStates = () =>
    page.$$eval('[data-testid="steps"] li[data-step]', (items) => Object.fromEntries(items.map((li) => [li.getAttribute('data-step'), li.getAttribute('data-state')])));
  /** Presses Sync and waits until the page reports the commit. */
  const syncAndWait = async () => {
    const before = await page.getByTestId('history').locator('li').count();
    await page.getByTestId('sync-button').click();
    await expect.poll(() => page.getByTestId('history').locator('li').count(), { timeout: 20_000 }).toBe(before + 1);
    await expect.poll(() => page.getByTestId('sync-button').isEnabled()).toBe(true);
  };
  const open = async () => {
    await page.goto(`${demoUrl}?api=${encodeURIComponent(api.url)}&confirm=0`);
    await page.waitForSelector('body[data-ready="true"]');
  };

  beforeAll(async () => {
    const { executablePath } = await resolveChromium();
    mkdirSync(RESULTS, { recursive: true });
    api = await startGitHubFixtureServer({ latencyMs: 15 });
    outDir = await mkdtemp(join(tmpdir(), 'parallax-web-demo-'));
    const configFile = join(ROOT, 'web-demo/vite.config.ts');
    await build({ configFile, mode: 'production', logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    server = await preview({ configFile, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
    demoUrl = server.resolvedUrls!.local[0]!;
    browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS], headless: true });
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => void dialog.accept());
    await open();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await api?.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('the first sync runs every step live, commits to IndexedDB, and shows created stats and the graph', async () => {
    await expect.poll(() => text('totals')).toBe('Nothing stored yet.');
    await page.getByLabel('Organization', { exact: true }).fill('nimbus-labs');
    await syncAndWait();

    expect(await stepStates()).toEqual({
      organization: 'done',
      repositories: 'done',
      members: 'done',
      teams: 'done',
      'team-members': 'done',
      'team-repos': 'done',
    });
    expect(await page.getByTestId('step-teams').innerText()).toContain('only with a token');
    // 1 organization + 8 public repositories + 5 public members; 13 HAS edges.
    expect(await stats()).toEqual({ created: 27, updated: 0, unchanged: 0, deleted: 0 });
    expect(await text('stat-created-detail')).toBe('14 entities · 13 relationships');
    expect(await totals()).toEqual({ entities: 14, relationships: 13 });
    expect(await page.locator('[data-testid="graph-canvas"] .node').count()).toBe(14);
    expect(await page.locator('[data-testid="graph-canvas"] line.edge').count()).toBe(13);
    expect(await text('rate-limit')).toMatch(/56 of 60 left .* anonymous/);
    // Requests went to the fixture API, from the page, anonymously.
    expect(api.requests.length).toBe(4);
    expect(api.requests.every((r) => r.authorization === undefined)).toBe(true);
  });

  it('the graph is browsable: classes and types, an entity\'s properties and relationships', async () => {
    expect(await text('class-CodeRepo')).toMatch(/CodeRepo\s*8/);
    await page.getByTestId('type-github_repo').click();
    await expect.poll(() => page.locator('[data-testid="entity-list"] tbody tr').count()).toBe(8);

    await page.getByRole('button', { name: 'nimbus-core' }).click();
    const props = page.getByTestId('entity-properties');
    expect(await props.innerText()).toMatch(/default_branch\s+main/);
    expect(await props.innerText()).toMatch(/topics\s+graph\s+security\s+sync\s+typescript/);
    expect(await page.getByTestId('entity-relationships').innerText()).toMatch(/← HAS\s*Nimbus Labs/);

    // Following a relationship selects the organization, which HAS all 13 others; the graph highlights it.
    await page.getByTestId('entity-relationships').getByRole('button', { name: 'Nimbus Labs' }).click();
    expect(await page.getByTestId('entity-detail').innerText()).toMatch(/relationships \(13\)/i);
    await page.getByTestId('tab-graph').click();
    expect(await page.locator('.node.selected').getAttribute('data-group')).toBe('Organization');
    expect(await page.locator('line.edge.active').count()).toBe(13);
  });

  it('issue 13: the query panel runs PQL on the page\'s IndexedDB store, lists and highlights the answer, and shows a syntax error with its line and column', async () => {
    const run = async (pql: string) => {
      await page.getByTestId('pql-input').fill(pql);
      await page.getByTestId('query-button').click();
    };
    const cells = (column: number) =>
      page.$$eval(`[data-testid="query-results"] tbody tr td:nth-child(${column})`, (tds) => tds.map((td) => td.textContent));

    // 8 public repositories synced anonymously, legacy-dashboard archived.
    await run('FIND github_repo WITH public = true AND archived = false');
    await expect.poll(() => text('query-summary')).toBe('7 matches.');
    const names = await cells(1);
    expect(names).toHaveLength(7);
    expect(names).toContain('nimbus-core');
    expect(names).not.toContain('legacy-dashboard');
    await page.getByTestId('tab-graph').click();
    expect(await page.locator('[data-testid="graph-canvas"] .node.match').count()).toBe(7);

    // Keywords are case-insensitive; groups come most entities first.
    await run('find github_repo group by archived');
    await expect.poll(() => text('query-summary')).toBe('8 matches in 2 groups.');
    expect(await cells(1)).toEqual(['false', 'true']);
    expect(await cells(2)).toEqual(['7', '1']);

    // An example button fills the box and runs: members in no team (anonymous: no teams, so all 5).
    await page.getByTestId('query-examples').getByRole('button', { name: 'members of no team' }).click();
    await expect.poll(() => text('query-summary')).toBe('5 matches.');
    expect(await page.getByTestId('pql-input').inputValue()).toBe('FIND github_user THAT !HAS <- github_team');

    await run('FIND github_repo THAT RUN x');
    await expect.poll(() => page.getByTestId('query-error').isVisible()).toBe(true);
    const error = await page.getByTestId('query-error').textContent();
    expect(error).toBe("line 1, col 23: expected a verb after THAT, found 'RUN'\nFIND github_repo THAT RUN x\n                      ^");
    expect(await page.getByTestId('pql-input').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('[data-testid="query-results"] table').count()).toBe(0);
    expect(await page.locator('[data-testid="graph-canvas"] .node.match').count()).toBe(0);

    // RETURN projects the named properties, an array's items listed.
    await run("FIND github_repo WITH name = 'nimbus-core' RETURN name, topics");
    await expect.poll(() => text('query-summary')).toBe('1 match.');
    expect(await cells(1)).toEqual(['nimbus-core']);
    expect(await cells(2)).toEqual(['graph, security, sync, typescript']);
    expect(await page.getByTestId('query-error').isVisible()).toBe(false);
  });

  it('data persists in IndexedDB across a reload (stats, graph, org), the token does not', async () => {
    await page.getByLabel(/^Token/).fill(api.token);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await totals()).toEqual({ entities: 14, relationships: 13 });
    expect(await stats()).toEqual({ created: 27, updated: 0, unchanged: 0, deleted: 0 });
    expect(await page.locator('[data-testid="graph-canvas"] .node').count()).toBe(14);
    expect(await page.getByLabel('Organization', { exact: true }).inputValue()).toBe('nimbus-labs');
    expect(await page.getByLabel(/^Token/).inputValue()).toBe('');
    expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
  });

  it('+P2: a re-sync of unchanged data shows every row unchanged', async () => {
    await syncAndWait();
    expect(await stats()).toEqual({ created: 0, updated: 0, unchanged: 27, deleted: 0 });
    expect(await text('stat-unchanged-detail')).toBe('14 entities · 13 relationships');
  });

  it('after the organization changes, a re-sync shows updated, created and deleted rows', async () => {
    api.setGeneration(1);
    await syncAndWait();
    // Updated: the org, nimbus-core, nimbus-cli. Created: nimbus-rs and its HAS edge.
    // Deleted: legacy-dashboard and jdelacroix with their HAS edges.
    expect(await stats()).toEqual({ created: 2, updated: 3, unchanged: 20, deleted: 4 });
    expect(await text('stat-deleted-detail')).toBe('2 entities · 2 relationships');
    expect(await totals()).toEqual({ entities: 13, relationships: 12 });
    await page.getByTestId('tab-list').click();
    await page.getByTestId('facet-all').click();
    expect(await page.getByTestId('entity-list').innerText()).toContain('nimbus-rs');
    expect(await page.getByTestId('entity-list').innerText()).not.toContain('legacy-dashboard');
  });

  it('when the 60 anonymous requests run out, the failed steps say so with the reset time, the rate limit shows it, and +P1 keeps the rows', async () => {
    api.setRateLimitRemaining(1);
    await syncAndWait();
    const states = await stepStates();
    expect(states).toMatchObject({ organization: 'done', repositories: 'failed', members: 'failed' });
    const reset = new Date(api.rateLimitReset * 1000).toISOString();
    expect(await page.getByTestId('step-repositories').innerText()).toContain(`rate limit stopped step "repositories": 0 of 60 requests left for anonymous requests; it resets at ${reset}`);
    expect(await page.getByTestId('rate-limit').getAttribute('data-state')).toBe('limited');
    expect(await text('rate-limit')).toMatch(/rate limited \(0 of 60 left\)/);
    expect(await stats()).toEqual({ created: 0, updated: 0, unchanged: 1, deleted: 0 });
    expect(await text('stats-meta')).toMatch(/2 failed steps · 24 rows kept from failed steps/);
    expect(await totals()).toEqual({ entities: 13, relationships: 12 });
    await page.screenshot({ path: join(RESULTS, 'web-demo-rate-limited.png'), fullPage: true });
    api.setRateLimitRemaining(60);
  });

  it('with a token (sent as Authorization: Bearer) teams, team members and team repository access appear', async () => {
    api.clearRequests();
    await page.getByLabel(/^Token/).fill(api.token);
    await page.getByLabel(`Send my token to ${api.url}`).check();
    await syncAndWait();
    expect(Object.values(await stepStates()).every((s) => s === 'done')).toBe(true);
    expect(api.requests.length).toBeGreaterThan(0);
    expect(api.requests.every((r) => r.authorization === `Bearer ${api.token}`)).toBe(true);
    // Generation 1 with a token: 1 org + 9 repos + 6 members + 2 teams;
    // org HAS 17, team HAS user 6, team MANAGES repo 8.
    expect(await totals()).toEqual({ entities: 18, relationships: 31 });
    expect(await text('class-Team')).toMatch(/Team\s*2/);
    expect(await text('rate-limit')).toMatch(/of 5000 left .* token/);

    await page.getByTestId('tab-graph').click();
    await page.locator('.node[aria-label="Team Platform"]').click();
    const rels = await page.getByTestId('entity-relationships').innerText();
    expect(rels).toMatch(/MANAGES →\s*nimbus-core\s*CodeRepo\s*permission: admin/);
    expect(rels).toMatch(/HAS →\s*rpatel-ops/);

    // Issue 13 with teams: platform manages 5 repositories, docs 3, nimbus-core by both; all 6 members are in a team.
    const example = async (name: string) => {
      await page.getByTestId('query-examples').getByRole('button', { name }).click();
      await expect.poll(() => page.getByTestId('pql-input').inputValue()).toBe(await page.getByTestId('query-examples').getByRole('button', { name }).getAttribute('data-pql'));
    };
    await example('repos a team manages');
    await expect.poll(() => text('query-summary')).toBe('7 matches.');
    expect(await page.$$eval('[data-testid="query-results"] tbody tr td:first-child', (tds) => tds.map((td) => td.textContent))).toContain('infra-live');
    await example('members of no team');
    await expect.poll(() => text('query-summary')).toBe('0 matches.');
    // Let the layout settle before the artifact.
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(RESULTS, 'web-demo.png'), fullPage: true });
  });

  it('reset deletes everything stored, and it stays deleted after a reload', async () => {
    await page.getByTestId('reset-button').click();
    await expect.poll(() => text('totals')).toBe('Nothing stored yet.');
    expect(await text('stat-created')).toBe('–');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    expect(await text('totals')).toBe('Nothing stored yet.');
    expect(await page.locator('[data-testid="graph-canvas"] .node').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  describe('defect 5: the token goes to api.github.com, or to another ?api= origin only once the user confirms it on the page', () => {
    const GITHUB_API = 'https://api.github.com';
    let other: GitHubFixtureServer;
    let otherContext: BrowserContext;
    let otherPage: Page;
    const withToken = (requests: readonly RecordedRequest[]) => requests.filter((r) => r.authorization !== undefined);

    /** Opens the demo in a fresh context (its own IndexedDB) with `query`, and types the fixture token. */
    const openWithToken = async (query: string): Promise<Page> => {
      otherContext = await browser.newContext();
      otherPage = await otherContext.newPage();
      otherPage.on('pageerror', (error) => pageErrors.push(error.message));
      otherPage.on('dialog', (dialog) => void dialog.accept());
      await otherPage.goto(`${demoUrl}?${query}`);
      await otherPage.waitForSelector('body[data-ready="true"]');
      await otherPage.getByLabel('Organization', { exact: true }).fill('nimbus-labs');
      await otherPage.getByLabel(/^Token/).fill(other.token);
      return otherPage;
    };
    const syncOnce = async (p: Page) => {
      const before = await p.getByTestId('history').locator('li').count();
      await p.getByTestId('sync-button').click();
      await expect.poll(() => p.getByTestId('history').locator('li').count(), { timeout: 20_000 }).toBe(before + 1);
      await expect.poll(() => p.getByTestId('sync-button').isEnabled()).toBe(true);
    };

    beforeAll(async () => {
      other = await startGitHubFixtureServer();
    });
    afterEach(async () => {
      await otherContext?.close();
      other.clearRequests();
    });
    afterAll(async () => {
      await other?.close();
    });

    it('with ?api=<another origin> (and ?confirm=0 in the link) no request carries the typed token until the user confirms that origin on the page; then they all do', async () => {
      const p = await openWithToken(`api=${encodeURIComponent(other.url)}&confirm=0`);
      await p.getByTestId('sync-button').click();
      // The page either asks (fixed) or syncs with the token (the defect): wait for whichever comes first.
      await expect.poll(async () => withToken(other.requests).length > 0 || (await p.getByTestId('token-origin-error').isVisible()), { timeout: 20_000 }).toBe(true);
      expect(withToken(other.requests)).toEqual([]);
      expect(await p.getByTestId('token-origin').innerText()).toContain(`Send my token to ${other.url}`);
      expect(await p.getByTestId('token-origin-error').innerText()).toContain(other.url);
      expect(await p.getByTestId('history').locator('li').count()).toBe(0);

      await p.getByLabel(`Send my token to ${other.url}`).check();
      await syncOnce(p);
      expect(other.requests.length).toBeGreaterThan(0);
      expect(other.requests.every((r) => r.authorization === `Bearer ${other.token}`)).toBe(true);
      // Teams are collected only with a token: all six steps ran.
      expect(await p.$$eval('[data-testid="steps"] li[data-step]', (items) => items.map((li) => li.getAttribute('data-state')))).toEqual(Array(6).fill('done'));

      // The confirmation lasts as long as the page: a reload asks again.
      await p.reload();
      await p.waitForSelector('body[data-ready="true"]');
      expect(await p.getByLabel(`Send my token to ${other.url}`).isChecked()).toBe(false);
    });

    it('without a token, another ?api= origin syncs anonymously without asking', async () => {
      const p = await openWithToken(`api=${encodeURIComponent(other.url)}`);
      await p.getByLabel(/^Token/).fill('');
      await syncOnce(p);
      expect(other.requests.length).toBeGreaterThan(0);
      expect(withToken(other.requests)).toEqual([]);
      expect(await p.getByTestId('token-origin-error').isVisible()).toBe(false);
    });

    for (const query of ['', `api=${encodeURIComponent(`${GITHUB_API}/`)}`]) {
      it(`the GitHub API origin never asks: the token goes to ${GITHUB_API} at once (${query ? '?api=https://api.github.com/' : 'no ?api='})`, async () => {
        otherContext = await browser.newContext();
        // api.github.com, answered from the recording fixture server on 127.0.0.1: nothing leaves the machine.
        await otherContext.route(`${GITHUB_API}/**`, async (route) => {
          const request = route.request();
          const url = new URL(request.url());
          const sent = await request.allHeaders();
          const headers: Record<string, string> = {};
          for (const name of ['authorization', 'accept', 'x-github-api-version']) if (sent[name] !== undefined) headers[name] = sent[name]!;
          const response = await fetch(`${other.url}${url.pathname}${url.search}`, { method: request.method(), headers });
          const answer: Record<string, string> = {};
          response.headers.forEach((value, name) => {
            answer[name] = value.replaceAll(other.url, GITHUB_API);
          });
          await route.fulfill({ status: response.status, headers: answer, body: Buffer.from(await response.arrayBuffer()) });
        });
        otherPage = await otherContext.newPage();
        otherPage.on('pageerror', (error) => pageErrors.push(error.message));
        await otherPage.goto(`${demoUrl}${query ? `?${query}` : ''}`);
        await otherPage.waitForSelector('body[data-ready="true"]');
        await otherPage.getByLabel('Organization', { exact: true }).fill('nimbus-labs');
        await otherPage.getByLabel(/^Token/).fill(other.token);
        expect(await otherPage.getByTestId('token-origin').isVisible()).toBe(false);
        await syncOnce(otherPage);
        expect(other.requests.length).toBeGreaterThan(0);
        expect(other.requests.every((r) => r.authorization === `Bearer ${other.token}`)).toBe(true);
        expect(await otherPage.getByTestId('token-origin-error').isVisible()).toBe(false);
      });
    }
  });
});
