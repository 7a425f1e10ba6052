/**
 * The cursor of the connector's paged steps: one step page is one page of a
 * GitHub listing, and the cursor, JSON text, is all a page needs to fetch
 * the next one (in a Workflow the next page may run in another invocation).
 * A cursor comes back from outside the connector, so it is checked like any
 * input: a known shape, and a URL on the API's own origin.
 */
import { ConnectorError } from 'parallax-edge';
import { z } from 'zod';

const PageCursorSchema = z
  .strictObject({
    /** The next page's URL, as GitHub's `Link: rel="next"` gave it. */
    url: z.url({ protocol: /^https?$/ }).max(8192).optional(),
    /** Its number in the listing, from 2: `limits.maxPages` counts them. */
    page: z.int().min(2).optional(),
    /** `repositories`: how many were collected so far (`limits.maxRepos`). */
    count: z.int().min(0).optional(),
    /** Team steps: the team (its id) whose listing this is; without `url`, its first page. */
    team: z.string().regex(/^\d{1,20}$/).optional(),
    /** `team-repos`: the team's repositories not in the graph so far, and up to three of their names. */
    missing: z.int().min(0).optional(),
    examples: z.array(z.string().max(300)).max(3).optional(),
  })
  .refine((c) => (c.url === undefined) === (c.page === undefined), 'url and page go together');

export type PageCursor = z.infer<typeof PageCursorSchema>;

/** The step's cursor text for `cursor`. */
export function encodeCursor(cursor: PageCursor): string {
  return JSON.stringify(cursor);
}

/**
 * The cursor a page was given: undefined on a step's first page. Anything
 * but a cursor of this connector for the API at `origin` is a `Validation`
 * error naming the cursor and the step.
 */
export function decodeCursor(text: string | undefined, stepId: string, origin: string): PageCursor | undefined {
  if (text === undefined) return undefined;
  const refuse = (why: string): ConnectorError =>
    ConnectorError.validation(`step "${stepId}" got a cursor that is not one of its pages (${why}): ${JSON.stringify(text.slice(0, 60))}`, 'cursor', stepId);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw refuse('not JSON');
  }
  const parsed = PageCursorSchema.safeParse(json);
  if (!parsed.success) throw refuse(parsed.error.issues.map((i) => `${i.path.join('.') || 'cursor'} ${i.message}`).join('; '));
  if (parsed.data.url !== undefined && new URL(parsed.data.url).origin !== origin) throw refuse(`its URL is not on ${origin}`);
  return parsed.data;
}
