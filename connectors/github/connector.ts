import {
  ConnectorError,
  entity,
  relationship,
  step,
  type Connector,
  type EntityData,
  type PropertyValue,
  type StepContext,
  type StepDefinition,
} from 'parallax-edge';
import { createHttpClient, paginateLink, type FetchLike, type HttpClient, type RateLimitEvent, type Validator } from 'parallax-edge/http';
import { parseGitHubConfig, type GitHubConfig } from './config.js';
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
  #lastLimit: RateLimitEvent | undefined;

  constructor(config: unknown, options: GitHubConnectorOptions = {}) {
    this.config = parseGitHubConfig(config);
    this.#options = options;
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
      step(s.repositories, 'Repositories').dependsOn([s.organization]).build(),
      step(s.members, 'Members').dependsOn([s.organization]).build(),
      step(s.teams, 'Teams').dependsOn([s.organization]).build(),
      step(s.teamMembers, 'Team members').dependsOn([s.teams, s.members]).build(),
      step(s.teamRepositories, 'Team repo access').dependsOn([s.teams, s.repositories]).build(),
    ];
  }

  async executeStep(stepId: string, ctx: StepContext): Promise<void> {
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

  async #collectRepositories(ctx: StepContext): Promise<void> {
    const org = this.#organization(ctx);
    const { maxRepos } = this.config.limits;
    let count = 0;
    for await (const repo of this.#list<Repository>(ctx, `/orgs/${this.#login(org)}/repos`, RepositoryPage, { type: 'all', sort: 'full_name' })) {
      if (count >= maxRepos) {
        ctx.warn(`collected the first ${maxRepos} repositories only (limits.maxRepos); the others are left out of the graph`, 'limits.maxRepos');
        break;
      }
      count++;
      ctx.emitEntity(
        entity(GITHUB_TYPES.repository, String(repo.id)).class('CodeRepo').displayName(repo.name).properties(repositoryProperties(repo)),
      );
      ctx.emitRelationship(relationship(org.entityType, org.entityKey, 'HAS', GITHUB_TYPES.repository, String(repo.id)));
    }
  }

  async #collectMembers(ctx: StepContext): Promise<void> {
    const org = this.#organization(ctx);
    // Anonymous callers only see public members; a member's token sees everyone.
    const listing = this.authenticated ? 'members' : 'public_members';
    for await (const user of this.#list<User>(ctx, `/orgs/${this.#login(org)}/${listing}`, UserPage)) {
      ctx.emitEntity(userEntity(user));
      ctx.emitRelationship(relationship(org.entityType, org.entityKey, 'HAS', GITHUB_TYPES.user, String(user.id)));
    }
  }

  async #collectTeams(ctx: StepContext): Promise<void> {
    const org = this.#organization(ctx);
    if (!this.authenticated) {
      ctx.warn('teams are visible only with a token (read:org); skipped', 'token');
      return;
    }
    for await (const team of this.#list<Team>(ctx, `/orgs/${this.#login(org)}/teams`, TeamPage)) {
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
  }

  async #collectTeamMembers(ctx: StepContext): Promise<void> {
    const org = this.#organization(ctx);
    const emitted = new Set<string>();
    for (const team of ctx.prior.entitiesByType(GITHUB_TYPES.team)) {
      const slug = encodeURIComponent(String(team.properties.slug));
      for await (const user of this.#list<User>(ctx, `/orgs/${this.#login(org)}/teams/${slug}/members`, UserPage)) {
        const key = String(user.id);
        // Members the members listing did not show (or that failed) still need an entity.
        if (!ctx.prior.get(GITHUB_TYPES.user, key) && !emitted.has(key)) {
          emitted.add(key);
          ctx.emitEntity(userEntity(user));
        }
        ctx.emitRelationship(relationship(team.entityType, team.entityKey, 'HAS', GITHUB_TYPES.user, key));
      }
    }
  }

  async #collectTeamRepositories(ctx: StepContext): Promise<void> {
    const org = this.#organization(ctx);
    for (const team of ctx.prior.entitiesByType(GITHUB_TYPES.team)) {
      const slug = String(team.properties.slug);
      const missing: string[] = [];
      for await (const repo of this.#list<Repository>(ctx, `/orgs/${this.#login(org)}/teams/${encodeURIComponent(slug)}/repos`, RepositoryPage)) {
        const key = String(repo.id);
        // A repository left out by limits.maxRepos (or by a failed step) cannot be linked (INV-C04).
        if (!ctx.prior.get(GITHUB_TYPES.repository, key)) {
          missing.push(repo.full_name);
          continue;
        }
        ctx.emitRelationship(
          relationship(team.entityType, team.entityKey, 'MANAGES', GITHUB_TYPES.repository, key).property('permission', teamPermission(repo)),
        );
      }
      if (missing.length > 0) {
        ctx.warn(
          `team "${slug}" has access to ${missing.length} ${missing.length === 1 ? 'repository' : 'repositories'} not in the graph (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}); their access is left out`,
        );
      }
    }
  }

  // ---- plumbing --------------------------------------------------------------

  /** The organization entity from the `organization` step, or a clear failure. */
  #organization(ctx: StepContext): EntityData {
    const org = ctx.prior.entitiesByType(GITHUB_TYPES.organization)[0];
    if (!org) {
      throw new ConnectorError('Custom', `step "${ctx.stepId}" needs the organization, and the organization step failed`, {
        stepId: ctx.stepId,
      });
    }
    return org;
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

  #list<T>(ctx: StepContext, path: string, page: Validator<T[]>, query: Record<string, string> = {}): AsyncGenerator<T, void, undefined> {
    this.#checkBudget(ctx.stepId);
    const { perPage, maxPages } = this.config.limits;
    return paginateLink<T, T[]>(this.#client, path, {
      maxPages,
      validate: page,
      init: { query: { ...query, per_page: perPage }, signal: ctx.signal },
    });
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
