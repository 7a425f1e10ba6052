/**
 * The parts of GitHub's REST responses the connector reads (API version
 * 2022-11-28). Unknown fields are dropped; fields GitHub documents as
 * nullable or absent on some plans are `nullish`, so that one odd record does
 * not fail a whole page.
 */
import { z } from 'zod';

const text = z.string().nullish();

/** `GET /orgs/{org}` (organization-full). */
export const OrganizationSchema = z.object({
  login: z.string(),
  id: z.int(),
  name: text,
  description: text,
  blog: text,
  location: text,
  email: text,
  twitter_username: text,
  is_verified: z.boolean().nullish(),
  public_repos: z.int().nullish(),
  followers: z.int().nullish(),
  html_url: z.string(),
  created_at: z.string(),
  updated_at: z.string().nullish(),
  type: text,
  // Only for members of the organization.
  total_private_repos: z.int().nullish(),
  two_factor_requirement_enabled: z.boolean().nullish(),
});
export type Organization = z.infer<typeof OrganizationSchema>;

/** `GET /orgs/{org}/repos` and `GET /orgs/{org}/teams/{slug}/repos` (minimal-repository). */
export const RepositorySchema = z.object({
  id: z.int(),
  name: z.string(),
  full_name: z.string(),
  private: z.boolean(),
  html_url: z.string(),
  description: text,
  fork: z.boolean(),
  homepage: text,
  language: text,
  archived: z.boolean().nullish(),
  disabled: z.boolean().nullish(),
  is_template: z.boolean().nullish(),
  visibility: text,
  default_branch: text,
  topics: z.array(z.string()).nullish(),
  stargazers_count: z.int().nullish(),
  forks_count: z.int().nullish(),
  open_issues_count: z.int().nullish(),
  size: z.int().nullish(),
  license: z.object({ spdx_id: text, key: text }).nullish(),
  has_pages: z.boolean().nullish(),
  created_at: text,
  updated_at: text,
  pushed_at: text,
  // Team repository listings: the team's access.
  role_name: text,
  permissions: z
    .object({
      admin: z.boolean().nullish(),
      maintain: z.boolean().nullish(),
      push: z.boolean().nullish(),
      triage: z.boolean().nullish(),
      pull: z.boolean().nullish(),
    })
    .nullish(),
});
export type Repository = z.infer<typeof RepositorySchema>;

/** Members and team members (simple-user). */
export const UserSchema = z.object({
  login: z.string(),
  id: z.int(),
  type: text,
  site_admin: z.boolean().nullish(),
  html_url: z.string(),
  avatar_url: text,
});
export type User = z.infer<typeof UserSchema>;

/** `GET /orgs/{org}/teams` (team). */
export const TeamSchema = z.object({
  id: z.int(),
  name: z.string(),
  slug: z.string(),
  description: text,
  privacy: text,
  notification_setting: text,
  permission: text,
  html_url: z.string(),
  parent: z.object({ id: z.int(), slug: z.string() }).nullish(),
});
export type Team = z.infer<typeof TeamSchema>;

export const RepositoryPage = z.array(RepositorySchema);
export const UserPage = z.array(UserSchema);
export const TeamPage = z.array(TeamSchema);
