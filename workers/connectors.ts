/**
 * This deployment's connectors: which run on which cron (each cron must be
 * listed under `[triggers] crons` in wrangler.toml), for which account, with
 * which configuration. Secrets are never written here: each connector
 * declares the env bindings it reads (`wrangler secret put GITHUB_TOKEN`).
 */
import { z } from 'zod';
import { GitHubConfigSchema, createGitHubConnector } from '../connectors/github/index.js';
import { createSyntheticConnector } from '../connectors/synthetic/index.js';
import { defineConnector, defineRegistry } from './registry.js';

/** A GitHub organization; without GITHUB_TOKEN it sees public data only (and no teams). */
export const github = defineConnector({
  name: 'github',
  description: 'A GitHub organization: repositories, members, teams (teams need a token)',
  config: GitHubConfigSchema.omit({ token: true }),
  secrets: z.object({ GITHUB_TOKEN: z.string().optional() }),
  create: (config, secrets) => createGitHubConnector({ ...config, token: secrets.GITHUB_TOKEN }),
});

/** The synthetic AWS estate: no network, so it runs anywhere, `wrangler dev` offline included. */
export const synthetic = defineConnector({
  name: 'synthetic-aws',
  description: 'A seeded synthetic AWS estate (no network): accounts, VPCs, instances, IAM, S3',
  config: z.strictObject({
    seed: z.int().default(1),
    n: z.int().min(1).max(200_000).default(1000),
    generation: z.int().min(0).default(0),
  }),
  secrets: z.object({}),
  create: (config) => createSyntheticConnector({ seed: config.seed, n: config.n, generation: config.generation }),
});

export const registry = defineRegistry({
  connectors: [github, synthetic],
  schedules: [
    { cron: '*/15 * * * *', connector: 'synthetic-aws', account: 'demo', config: { n: 1000 } },
    { cron: '0 3 * * *', connector: 'github', account: 'demo', config: { org: 'cloudflare', limits: { maxRepos: 200 } } },
  ],
});
