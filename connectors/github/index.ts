/**
 * The GitHub connector: an organization, its repositories and members, and
 * with a token its teams, team membership and team repository access.
 * Written only against parallax-edge's public API; it runs unchanged in
 * Node, Cloudflare Workers and browsers.
 *
 * Graph:
 * - `github_organization` (Organization) HAS `github_repo` (CodeRepo),
 *   `github_user` (User) and `github_team` (Team);
 * - `github_team` HAS `github_user`;
 * - `github_team` MANAGES `github_repo`, with the team's `permission`
 *   (`pull`, `triage`, `push`, `maintain`, `admin` or a custom role).
 *
 * @example
 * import { runConnector, commitSync } from 'parallax-edge';
 * import { createGitHubConnector } from 'parallax-edge/connectors/github';
 * const connector = createGitHubConnector({ org: 'nodejs', token: process.env.GITHUB_TOKEN });
 * const output = await runConnector(connector, { accountId: 'acme' });
 * const { stats } = await commitSync(store, output);
 *
 * @example
 * // CLI: parallax-edge sync connectors/github/index.ts --config github.json
 * // github.json: { "org": "nodejs", "token": "github_pat_…", "limits": { "maxRepos": 500 } }
 */
import { GitHubConnector, type GitHubConnectorOptions } from './connector.js';

export {
  GitHubConnector,
  GITHUB_STEPS,
  GITHUB_TYPES,
  teamPermission,
  type GitHubConnectorOptions,
  type GitHubRateLimit,
} from './connector.js';
export { GitHubConfigSchema, parseGitHubConfig, type GitHubConfig, type GitHubConfigInput } from './config.js';

/**
 * Checks the config (a `ConnectorError` of kind `Configuration` naming the
 * field if it is wrong) and creates the connector.
 *
 * @example
 * const connector = createGitHubConnector({ org: 'nodejs' }, { onRateLimit: (s) => console.log(s.remaining) });
 */
export function createGitHubConnector(config: unknown, options: GitHubConnectorOptions = {}): GitHubConnector {
  return new GitHubConnector(config, options);
}

/** Module entry for the CLI, which calls it with the `--config` JSON. */
export default createGitHubConnector;
