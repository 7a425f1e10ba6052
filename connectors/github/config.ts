import { ConnectorError } from 'parallax-edge';
import { z } from 'zod';

/** GitHub organization logins: letters, digits and single inner hyphens, at most 39 characters. */
const ORG_LOGIN = /^[a-z\d](?:[a-z\d]|-(?=[a-z\d])){0,38}$/i;

const positiveInt = (what: string) =>
  z.int({ error: (issue) => (issue.input === undefined ? 'is required' : `must be a whole number (${what})`) }).min(1, `must be at least 1 (${what})`);

/**
 * The connector's configuration, as the CLI reads it from JSON. Unknown keys
 * are refused, so that a misspelt `token` does not silently run anonymously.
 */
export const GitHubConfigSchema = z.strictObject({
  /** The organization login, as in `https://github.com/<org>`. */
  org: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required (the organization login, such as "nodejs")' : 'must be a string') })
    .trim()
    .regex(ORG_LOGIN, 'must be a GitHub organization login: letters, digits and single hyphens, at most 39 characters'),
  /**
   * A token (fine-grained or classic) sent as `Authorization: Bearer`. Without
   * it the connector sees public data only, gets 60 requests an hour, and
   * skips teams. An empty string counts as none.
   */
  token: z
    .string({ error: 'must be a string' })
    .trim()
    .optional()
    .transform((token) => (token === '' ? undefined : token)),
  /** API root; GitHub Enterprise Server uses `https://HOST/api/v3`. Default `https://api.github.com`. */
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL, such as https://api.github.com' })
    .default('https://api.github.com'),
  /** Caps for large organizations. */
  limits: z
    .strictObject({
      /** Repositories collected at most; the rest are left out, with a warning. Default 1,000. */
      maxRepos: positiveInt('repositories collected at most').default(1000),
      /** Pages fetched at most per listing; a listing longer than that fails its step. Default 20. */
      maxPages: positiveInt('pages per listing').default(20),
      /** Items per page, 1 to 100. Default 100. */
      perPage: positiveInt('items per page').max(100, 'must be at most 100 (GitHub caps pages at 100 items)').default(100),
    })
    .prefault({}),
  /** Per-request timeout. Default 30 s. */
  timeoutMs: positiveInt('milliseconds').default(30_000),
  /**
   * How long a request may wait for GitHub's rate limit to reset before its
   * step fails saying so. Default 60 s.
   */
  rateLimitWaitMs: z.int({ error: 'must be a whole number of milliseconds' }).min(0, 'must be 0 or more').default(60_000),
});

/** The configuration as written (JSON). */
export type GitHubConfigInput = z.input<typeof GitHubConfigSchema>;
/** The configuration with defaults applied. */
export type GitHubConfig = z.output<typeof GitHubConfigSchema>;

function issueField(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) path.push(issue.keys[0]!);
  return path.join('.');
}

function issueText(issue: z.core.$ZodIssue): string {
  const field = issueField(issue);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    const where = issue.path.length ? `config.${issue.path.join('.')}` : 'config';
    return `${where} has unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${keys}`;
  }
  return `config.${field} ${issue.message}`;
}

/**
 * Checks a configuration and applies the defaults. A bad one throws a
 * `ConnectorError` of kind `Configuration` whose `field` names the first bad
 * field (`org`, `limits.maxRepos`, …) and whose message lists every problem.
 *
 * @example
 * parseGitHubConfig({ org: 'nodejs' }).baseUrl; // 'https://api.github.com'
 */
export function parseGitHubConfig(input: unknown): GitHubConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw ConnectorError.configuration('GitHub connector: the config must be an object such as { "org": "nodejs" }', 'config');
  }
  const result = GitHubConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const message = `GitHub connector: ${issues.map(issueText).join('; ')}`;
  throw ConnectorError.configuration(message, issueField(issues[0]!) || 'config');
}
