import {
  ConnectorError,
  entity,
  relationship,
  step,
  type Connector,
  type EntityData,
  type PriorFilter,
  type PropertyValue,
  type StepContext,
  type StepDefinition,
  type StepPage,
} from 'parallax-edge';
import { createHttpClient, fetchLinkPage, type FetchLike, type HttpClient, type RateLimitEvent, type Validator } from 'parallax-edge/http';
import { parseGitHubConfig, type GitHubConfig } from './config.js';
import { decodeCursor, encodeCursor, type PageCursor } from './cursor.js';
import {
  OrganizationSchema,
  RepositoryPage,
  TeamPage,
  UserPage,
  type Organization,
  type Repository,
  type Team,
  type User,
} from './schemas.js';

/** Entity types the connector emits. Keys are GitHub's numeric ids, as strings. */
export const GITHUB_TYPES = {
  organization: 'github_organization',
  repository: 'github_repo',
  user: 'github_user',
  team: 'github_team',
} as const;

/** Step ids, in the order the steps are defined. */
export const GITHUB_STEPS = {
  organization: 'organization',
  repositories: 'repositories',
  members: 'members',
  teams: 'teams',
  teamMembers: 'team-members',
  teamRepositories: 'team-repos',
} as const;

/** GitHub's rate-limit state as the connector last saw it. */
export interface GitHubRateLimit {
  /** Requests allowed per window: 60 anonymous, 5,000 with a token. */
  readonly limit: number | undefined;
  readonly remaining: number | undefined;
  /** When the window resets, epoch milliseconds. */
  readonly resetAt: number | undefined;
  /** GitHub's bucket, `core` for the REST calls this connector makes. */
  readonly resource: string | undefined;
  /** True when the last answer was a refusal because of the limit. */
  readonly limited: boolean;
  readonly authenticated: boolean;
}

/** Runtime hooks that a JSON config cannot carry. */
export interface GitHubConnectorOptions {
  /** The fetch to use; default the global one. */
  readonly fetch?: FetchLike;
  /** Called with the rate-limit state after every answer that reports it. */
  readonly onRateLimit?: (state: GitHubRateLimit) => void;
}

const API_VERSION = '2022-11-28';
const USER_AGENT = 'parallax-edge-github-connector';

/** Browsers set their own User-Agent (and Chromium drops ours); other runtimes need one for GitHub. */
function needsUserAgent(): boolean {
  const agent = (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent;
  return !(typeof agent === 'string' && agent.startsWith('Mozilla/'));
}

const orNull = <T extends PropertyValue>(value: T | null | undefined): T | null => (value === undefined ? null : value);

/** The team's access to a repository, from `role_name` or else the `permissions` flags. */
export function teamPermission(repo: Pick<Repository, 'role_name' | 'permissions'>): string | null {
  if (repo.role_name) return repo.role_name;
  const p = repo.permissions;
  if (!p) return null;
  if (p.admin) return 'admin';
  if (p.maintain) return 'maintain';
  if (p.push) return 'push';
  if (p.triage) return 'triage';
  if (p.pull) return 'pull';
  return null;
}

function duration(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  if (seconds < 90) return `${seconds} s`;
  return `${Math.ceil(seconds / 60)} min`;
}

/**
 * Collects one GitHub organization: the organization, its repositories and
 * members, and with a token its teams, who is in them and which repositories
 * they can access.
 *
 * Steps (and why they depend on each other):
 * - `organization`: `GET /orgs/{org}`;
 * - `repositories`, `members`, `teams`: listings under the organization,
 *   each linked to it by `HAS` (they read the organization from ctx.prior);
 * - `team-members` (after `teams` and `members`): `team HAS user`, emitting
 *   users the members listing did not show;
 * - `team-repos` (after `teams` and `repositories`): `team MANAGES repo`
 *   with the team's `permission`, for repositories in the graph.
 *
 * Every listing step is paged: one step page is one page of the GitHub
 * listing, its cursor the next page's `Link` URL (see cursor.ts); the team
 * steps go through the teams in id order, a team's pages after another's.
 * Steps read prior data only with `ctx.prior.has` and `iterateEntities`
 * (`iteratesPrior()`), so a streamed run holds no step's records.
 *
 * It uses only web-standard globals, so it runs unchanged in Node, Workers
 * and browsers.
 *
 * @example
 * const connector = createGitHubConnector({ org: 'nodejs', token: process.env.GITHUB_TOKEN });
 * const output = await runConnector(connector, { accountId: 'acme' });
 * await commitSync(store, output);
 */
export class GitHubConnector implements Connector {
  readonly name = 'github';
  readonly config: GitHubConfig;
  readonly #client: HttpClient;
  readonly #options: GitHubConnectorOptions;
  /** The API's origin: every page a cursor names must be on it. */
  readonly #origin: string;
  #lastLimit: RateLimitEvent | undefined;

  constructor(config: unknown, options: GitHubConnectorOptions = {}) {
    this.config = parseGitHubConfig(config);
    this.#options = options;
    this.#origin = new URL(this.config.baseUrl).origin;
    const { token, baseUrl, timeoutMs, rateLimitWaitMs } = this.config;
    const headers: Record<string, string> = { accept: 'application/vnd.github+json', 'x-github-api-version': API_VERSION };
    if (needsUserAgent()) headers['user-agent'] = USER_AGENT;
    this.#client = createHttpClient({
      baseUrl,
      headers,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(token ? { authorize: (request: Request) => request.headers.set('authorization', `Bearer ${token}`) } : {}),
      timeoutMs,
      retry: { maxAttempts: 3, maxWaitMs: rateLimitWaitMs },
      onRateLimit: (event) => {
        this.#lastLimit = event.limited ? event : undefined;
        this.#options.onRateLimit?.(this.#rateLimitOf(event.limited));
      },
    });
  }

  /** Whether a token is configured (teams are collected only then). */
  get authenticated(): boolean {
    return this.config.token !== undefined;
  }

  /** The rate-limit state of the last answer that reported one; undefined before any request. */
  get rateLimit(): GitHubRateLimit | undefined {
    return this.#client.rateLimit ? this.#rateLimitOf(this.#lastLimit !== undefined) : undefined;
  }

  steps(): readonly StepDefinition[] {
    const s = GITHUB_STEPS;
    return [
      step(s.organization, 'Organization').build(),
      step(s.repositories, 'Repositories').dependsOn([s.organization]).paged().iteratesPrior().build(),
      step(s.members, 'Members').dependsOn([s.organization]).paged().iteratesPrior().build(),
      step(s.teams, 'Teams').dependsOn([s.organization]).paged().iteratesPrior().build(),
      step(s.teamMembers, 'Team members').dependsOn([s.teams, s.members]).paged().iteratesPrior().build(),
      step(s.teamRepositories, 'Team repo access').dependsOn([s.teams, s.repositories]).paged().iteratesPrior().build(),
    ];
  }

  async executeStep(stepId: string, ctx: StepContext): Promise<void | StepPage> {
    try {
      switch (stepId) {
        case GITHUB_STEPS.organization:
          return await this.#collectOrganization(ctx);
        case GITHUB_STEPS.repositories:
          return await this.#collectRepositories(ctx);
        case GITHUB_STEPS.members:
          return await this.#collectMembers(ctx);
        case GITHUB_STEPS.teams:
          return await this.#collectTeams(ctx);
        case GITHUB_STEPS.teamMembers:
          return await this.#collectTeamMembers(ctx);
        case GITHUB_STEPS.teamRepositories:
          return await this.#collectTeamRepositories(ctx);
        default:
          throw ConnectorError.unknownStep(stepId);
      }
    } catch (error) {
      throw this.#explain(error, stepId);
    }
  }

  // ---- steps ---------------------------------------------------------------

  async #collectOrganization(ctx: StepContext): Promise<void> {
    const org = await this.#getJson(ctx, `/orgs/${encodeURIComponent(this.config.org)}`, OrganizationSchema, () =>
      new ConnectorError(
        'Api',
        `GitHub has no organization "${this.config.org}" at ${this.config.baseUrl} (404); check config.org (a user account is not an organization)`,
        { status: 404, stepId: ctx.stepId, field: 'org' },
      ),
    );
    ctx.emitEntity(
      entity(GITHUB_TYPES.organization, String(org.id))
        .class('Organization')
        .displayName(org.name || org.login)
        .properties(organizationProperties(org)),
    ).orThrow();
  }

  async #collectRepositories(ctx: StepContext): Promise<StepPage> {
    const org = await this.#organization(ctx);
    const at = this.#cursor(ctx);
    const { maxRepos } = this.config.limits;
    let count = at?.count ?? 0;
    const page = await this.#page<Repository>(ctx, at, `/orgs/${this.#login(org)}/repos`, RepositoryPage, { type: 'all', sort: 'full_name' });
    for (const repo of page.items) {
      if (count >= maxRepos) {
        ctx.warn(`collected the first ${maxRepos} repositories only (limits.maxRepos); the others are left out of the graph`, 'limits.maxRepos');
        return {};
      }
      count++;
      ctx.emitEntity(
        entity(GITHUB_TYPES.repository, String(repo.id)).class('CodeRepo').displayName(repo.name).properties(repositoryProperties(repo)),
      );
      ctx.emitRelationship(relationship(org.entityType, org.entityKey, 'HAS', GITHUB_TYPES.repository, String(repo.id)));
    }
    return page.next ? { next: encodeCursor({ ...page.next, count }) } : {};
  }

  async #collectMembers(ctx: StepContext): Promise<StepPage> {
    const org = await this.#organization(ctx);
    // Anonymous callers only see public members; a member's token sees everyone.
    const listing = this.authenticated ? 'members' : 'public_members';
    const page = await this.#page<User>(ctx, this.#cursor(ctx), `/orgs/${this.#login(org)}/${listing}`, UserPage);
    for (const user of page.items) {
      ctx.emitEntity(userEntity(user));
      ctx.emitRelationship(relationship(org.entityType, org.entityKey, 'HAS', GITHUB_TYPES.user, String(user.id)));
    }
    return page.next ? { next: encodeCursor(page.next) } : {};
  }

  async #collectTeams(ctx: StepContext): Promise<StepPage> {
    const org = await this.#organization(ctx);
    if (!this.authenticated) {
      ctx.warn('teams are visible only with a token (read:org); skipped', 'token');
      return {};
    }
    const page = await this.#page<Team>(ctx, this.#cursor(ctx), `/orgs/${this.#login(org)}/teams`, TeamPage);
    for (const team of page.items) {
      ctx.emitEntity(
        entity(GITHUB_TYPES.team, String(team.id))
          .class('Team')
          .displayName(team.name)
          .properties({
            name: team.name,
            slug: team.slug,
            description: orNull(team.description),
            privacy: orNull(team.privacy),
            notification_setting: orNull(team.notification_setting),
            permission: orNull(team.permission),
            parent_slug: team.parent?.slug ?? null,
            html_url: team.html_url,
          }),
      );
      ctx.emitRelationship(relationship(org.entityType, org.entityKey, 'HAS', GITHUB_TYPES.team, String(team.id)));
    }
    return page.next ? { next: encodeCursor(page.next) } : {};
  }

  async #collectTeamMembers(ctx: StepContext): Promise<StepPage> {
    const org = await this.#organization(ctx);
    const at = this.#cursor(ctx);
    const team = await this.#team(ctx, at);
    if (!team) return {};
    const slug = encodeURIComponent(String(team.properties.slug));
    const page = await this.#page<User>(ctx, at, `/orgs/${this.#login(org)}/teams/${slug}/members`, UserPage);
    for (const user of page.items) {
      const key = String(user.id);
      // Members the members listing did not show (or that failed) still need an entity, once.
      if (!ctx.prior.has(GITHUB_TYPES.user, key) && !ctx.hasEmitted(GITHUB_TYPES.user, key)) ctx.emitEntity(userEntity(user));
      ctx.emitRelationship(relationship(team.entityType, team.entityKey, 'HAS', GITHUB_TYPES.user, key));
    }
    if (page.next) return { next: encodeCursor({ team: team.entityKey, ...page.next }) };
    return this.#nextTeam(ctx, team);
  }

  async #collectTeamRepositories(ctx: StepContext): Promise<StepPage> {
    const org = await this.#organization(ctx);
    const at = this.#cursor(ctx);
    const team = await this.#team(ctx, at);
    if (!team) return {};
    const slug = String(team.properties.slug);
    let missing = at?.missing ?? 0;
    const examples = [...(at?.examples ?? [])];
    const page = await this.#page<Repository>(ctx, at, `/orgs/${this.#login(org)}/teams/${encodeURIComponent(slug)}/repos`, RepositoryPage);
    for (const repo of page.items) {
      const key = String(repo.id);
      // A repository left out by limits.maxRepos (or by a failed step) cannot be linked (INV-C04).
      if (!ctx.prior.has(GITHUB_TYPES.repository, key)) {
        missing++;
        if (examples.length < 3) examples.push(repo.full_name.slice(0, 300));
        continue;
      }
      ctx.emitRelationship(
        relationship(team.entityType, team.entityKey, 'MANAGES', GITHUB_TYPES.repository, key).property('permission', teamPermission(repo)),
      );
    }
    if (page.next) return { next: encodeCursor({ team: team.entityKey, ...page.next, ...(missing > 0 ? { missing, examples } : {}) }) };
    if (missing > 0) {
      ctx.warn(
        `team "${slug}" has access to ${missing} ${missing === 1 ? 'repository' : 'repositories'} not in the graph (${examples.join(', ')}${missing > 3 ? ', …' : ''}); their access is left out`,
      );
    }
    return this.#nextTeam(ctx, team);
  }

  // ---- plumbing --------------------------------------------------------------

  /** The organization entity from the `organization` step, or a clear failure. */
  async #organization(ctx: StepContext): Promise<EntityData> {
    const org = await first(ctx, { type: GITHUB_TYPES.organization });
    if (!org) {
      throw new ConnectorError('Custom', `step "${ctx.stepId}" needs the organization, and the organization step failed`, {
        stepId: ctx.stepId,
      });
    }
    return org;
  }

  #cursor(ctx: StepContext): PageCursor | undefined {
    return decodeCursor(ctx.cursor, ctx.stepId, this.#origin);
  }

  /** The team whose listing this page is: the cursor's, or on a step's first page the first team in id order. */
  async #team(ctx: StepContext, at: PageCursor | undefined): Promise<EntityData | undefined> {
    if (at === undefined) return first(ctx, { type: GITHUB_TYPES.team });
    const team = at.team === undefined ? undefined : await ctx.prior.find(GITHUB_TYPES.team, at.team);
    if (!team) throw ConnectorError.validation(`step "${ctx.stepId}" got a cursor that names no team of the teams step`, 'cursor', ctx.stepId);
    return team;
  }

  /** The first page of the team after `team` in id order, or the end of the step. */
  async #nextTeam(ctx: StepContext, team: EntityData): Promise<StepPage> {
    let passed = false;
    for await (const next of ctx.prior.iterateEntities({ type: GITHUB_TYPES.team })) {
      if (passed) return { next: encodeCursor({ team: next.entityKey }) };
      passed = next.entityKey === team.entityKey;
    }
    return {};
  }

  /** One page of a listing: its first (path and query) without a cursor URL, else the cursor's; `next` for the page after. */
  async #page<T>(
    ctx: StepContext,
    at: PageCursor | undefined,
    path: string,
    schema: Validator<T[]>,
    query: Record<string, string> = {},
  ): Promise<{ items: readonly T[]; next?: { url: string; page: number } }> {
    if (at?.url === undefined) this.#checkBudget(ctx.stepId);
    const { perPage, maxPages } = this.config.limits;
    const number = at?.page ?? 1;
    const page = await fetchLinkPage<T, T[]>(this.#client, at?.url ?? path, {
      page: number,
      origin: this.#origin,
      maxPages,
      validate: schema,
      init: { query: { ...query, per_page: perPage }, signal: ctx.signal },
    });
    return page.next === undefined ? { items: page.items } : { items: page.items, next: { url: page.next, page: number + 1 } };
  }

  #login(org: EntityData): string {
    return encodeURIComponent(String(org.properties.login ?? this.config.org));
  }

  async #getJson<T>(ctx: StepContext, path: string, schema: Validator<T>, notFound: () => ConnectorError): Promise<T> {
    this.#checkBudget(ctx.stepId);
    const response = await this.#client.fetchJson<unknown>(path, { signal: ctx.signal, acceptStatus: [404] });
    if (response.response.status === 404) throw notFound();
    try {
      return schema.parse(response.data);
    } catch (cause) {
      throw ConnectorError.api(response.response.status, path, `GET ${path} returned JSON of an unexpected shape: ${String(cause)}`, cause);
    }
  }

  #rateLimitOf(limited: boolean): GitHubRateLimit {
    const state = this.#client.rateLimit;
    return {
      limit: state?.limit,
      remaining: state?.remaining,
      resetAt: state?.resetAt,
      resource: state?.resource,
      limited,
      authenticated: this.authenticated,
    };
  }

  /** Fails at once, without a request, when the last answer left no requests until after the longest wait. */
  #checkBudget(stepId: string): void {
    const state = this.#client.rateLimit;
    if (state?.remaining !== 0 || state.resetAt === undefined) return;
    if (state.resetAt - Date.now() <= this.config.rateLimitWaitMs) return;
    throw this.#rateLimitError(stepId, undefined);
  }

  #rateLimitError(stepId: string, cause: ConnectorError | undefined): ConnectorError {
    const state = this.#client.rateLimit;
    const who = this.authenticated ? 'the token' : 'anonymous requests';
    const quota =
      state?.remaining !== undefined ? `${state.remaining} of ${state.limit ?? '?'} requests left for ${who}` : `no requests left for ${who}`;
    const reset =
      state?.resetAt !== undefined
        ? `; it resets at ${new Date(state.resetAt).toISOString()}, in ${duration(state.resetAt - Date.now())}`
        : this.#lastLimit?.waitMs !== undefined
          ? `; retry in ${duration(this.#lastLimit.waitMs)}`
          : '';
    const hint = this.authenticated ? '' : '. Anonymous callers get 60 requests an hour: set a token for 5,000';
    return new ConnectorError('Api', `GitHub's rate limit stopped step "${stepId}": ${quota}${reset}${hint}`, {
      stepId,
      status: cause?.status ?? 403,
      ...(cause?.endpoint ? { endpoint: cause.endpoint } : {}),
      ...(cause ? { cause } : {}),
    });
  }

  /** Rate-limit refusals get a message that says so; everything else keeps its own. */
  #explain(error: unknown, stepId: string): unknown {
    if (!(error instanceof ConnectorError) || error.kind !== 'Api') return error;
    if ((error.status === 403 || error.status === 429) && this.#lastLimit !== undefined) return this.#rateLimitError(stepId, error);
    return error;
  }
}

/** The first of the step's prior entities matching `filter`, in id order. */
async function first(ctx: StepContext, filter: PriorFilter): Promise<EntityData | undefined> {
  for await (const e of ctx.prior.iterateEntities(filter)) return e;
  return undefined;
}

function organizationProperties(org: Organization): Record<string, PropertyValue> {
  return {
    login: org.login,
    name: orNull(org.name),
    description: orNull(org.description),
    blog: org.blog || null,
    location: orNull(org.location),
    email: orNull(org.email),
    twitter_username: orNull(org.twitter_username),
    verified: orNull(org.is_verified),
    public_repos: orNull(org.public_repos),
    followers: orNull(org.followers),
    two_factor_requirement_enabled: orNull(org.two_factor_requirement_enabled),
    html_url: org.html_url,
    created_at: org.created_at,
    updated_at: orNull(org.updated_at),
  };
}

function repositoryProperties(repo: Repository): Record<string, PropertyValue> {
  return {
    name: repo.name,
    full_name: repo.full_name,
    description: orNull(repo.description),
    visibility: repo.visibility ?? (repo.private ? 'private' : 'public'),
    private: repo.private,
    public: !repo.private,
    archived: repo.archived ?? false,
    disabled: repo.disabled ?? false,
    fork: repo.fork,
    is_template: repo.is_template ?? false,
    default_branch: orNull(repo.default_branch),
    language: orNull(repo.language),
    topics: [...(repo.topics ?? [])],
    stars: repo.stargazers_count ?? 0,
    forks: repo.forks_count ?? 0,
    open_issues: repo.open_issues_count ?? 0,
    size_kb: orNull(repo.size),
    license: repo.license?.spdx_id ?? null,
    homepage: repo.homepage || null,
    has_pages: repo.has_pages ?? false,
    html_url: repo.html_url,
    created_at: orNull(repo.created_at),
    updated_at: orNull(repo.updated_at),
    pushed_at: orNull(repo.pushed_at),
  };
}

function userEntity(user: User) {
  return entity(GITHUB_TYPES.user, String(user.id))
    .class('User')
    .displayName(user.login)
    .properties({
      login: user.login,
      type: orNull(user.type),
      site_admin: user.site_admin ?? false,
      html_url: user.html_url,
      avatar_url: orNull(user.avatar_url),
    });
}
