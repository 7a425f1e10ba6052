/**
 * This deployment's connectors: which run on which cron (each cron must be
 * listed under `[triggers] crons` in wrangler.toml), for which account, with
 * which configuration. Secrets are never written here: each connector
 * declares the env bindings it reads (`wrangler secret put GITHUB_TOKEN`).
 */
import { z } from 'zod';
import { GitHubConfigSchema, createGitHubConnector } from '../connectors/github/index.js';
import { defineConnector, defineRegistry } from './registry.js';

export const github = defineConnector({
  name: 'github',
  description: 'A GitHub organization: repositories, members, teams (teams need a token)',
  config: GitHubConfigSchema.omit({ token: true }),
  secrets: z.object({ GITHUB_TOKEN: z.string().optional() }),
  create: (config, secrets) => createGitHubConnector({ ...config, token: secrets.GITHUB_TOKEN }),
});

export const registry = defineRegistry({
  connectors: [github],
  schedules: [{ cron: '0 3 * * *', connector: 'github', account: 'demo', config: { org: 'cloudflare', limits: { maxRepos: 200 } } }],
});
