/**
 * A synthetic AWS connector, after Parallax's: accounts, VPCs, subnets,
 * security groups, EC2 instances, EDR agents, IAM users/roles/policies and S3
 * buckets, with HAS, CONTAINS, USES, ASSIGNED, PROTECTS and ALLOWS between
 * them. No network: everything is computed from a seed, so the same options
 * always emit the same records. It exists to exercise the sync protocol and
 * the stores at any scale: churn between runs, a failing step, big batches.
 *
 * Every step is paged: a page covers `pageSize` consecutive slots of the
 * step (slot = one account, host, user...) and hands back the next slot
 * index as its cursor, so no step holds more than a page of records and a
 * Workflow can run each page as its own `step.do`. Steps read their
 * dependencies only through `ctx.prior.has` (`iteratesPrior()`), so a run
 * into a store never keeps a step's records in memory. The records, and
 * their order within a step, do not depend on the page size.
 *
 * Written only against the public API, like any third-party connector.
 *
 * @example
 * import { runConnector, commitSync } from 'parallax-edge';
 * import { createSyntheticConnector } from 'parallax-edge/connectors/synthetic';
 * const base = createSyntheticConnector({ seed: 7, n: 10_000 });       // ~10k entities, ~20k relationships
 * const next = createSyntheticConnector({ seed: 7, n: 10_000, generation: 1 }); // ~1% of entities differ
 * await commitSync(store, await runConnector(base, { accountId: 'acme' }));
 * await commitSync(store, await runConnector(next, { accountId: 'acme' }));
 */
import {
  ConnectorError,
  EntityBuilder,
  step,
  relationship,
  type Connector,
  type RelationshipBuilder,
  type StepContext,
  type StepDefinition,
  type StepPage,
} from 'parallax-edge';
import { KINDS, World, syntheticCounts, type SyntheticCounts } from './world.js';

export { syntheticCounts, type SyntheticCounts } from './world.js';

/** Churn between generations: `fraction` of the entities differ from one generation to the next. */
export interface SyntheticChurn {
  /** 0 to 1; default 0.01. A third of it is removed, a third added, a third changed. */
  readonly fraction?: number;
  /** Picks which entities churn; the base estate (generation 0) does not depend on it. Default 0. */
  readonly seed?: number;
  /** Which generation to emit; defaults to the top-level `generation`, else 1. */
  readonly generation?: number;
}

export interface SyntheticOptions {
  /** Seed of the estate; default 1. Same options, same records. */
  readonly seed?: number;
  /** Scale: about this many entities, and about twice as many relationships. Default 1000. */
  readonly n?: number;
  /** Generation to emit with the default churn (1% per generation); default 0, the base estate. */
  readonly generation?: number;
  /** Churn settings; giving them without a generation emits generation 1. */
  readonly churn?: SyntheticChurn;
  /**
   * A step that fails halfway, to exercise +P1: it emits the records of the
   * first half of its slots (across as many pages as that takes), then throws.
   */
  readonly failStep?: string;
  /** Slots per page of every step; a slot gives one to four records. Default {@link DEFAULT_SYNTHETIC_PAGE_SIZE}. */
  readonly pageSize?: number;
  /** Prefix of account aliases and bucket names: lowercase letters, digits and dashes. Default 'synthetic'. */
  readonly accountLabel?: string;
  /** Connector id (stored rows are scoped by it); default 'synthetic-aws'. */
  readonly name?: string;
}

/** The steps, as a DAG: accounts → vpcs → subnets/security-groups → hosts → edr-agents, IAM and S3 beside. */
const STEP_PLAN = [
  ['accounts', 'Collect AWS accounts', []],
  ['vpcs', 'Collect VPCs of each account', ['accounts']],
  ['subnets', 'Collect subnets of each VPC', ['vpcs']],
  ['security-groups', 'Collect security groups and their ingress rules', ['vpcs']],
  ['hosts', 'Collect EC2 instances', ['subnets', 'security-groups']],
  ['edr-agents', 'Collect the EDR agent of each instance', ['hosts']],
  ['iam-policies', 'Collect IAM customer-managed policies', ['accounts']],
  ['iam-users', 'Collect IAM users', ['accounts']],
  ['iam-roles', 'Collect IAM roles', ['accounts']],
  ['s3-buckets', 'Collect S3 buckets', ['accounts']],
  ['iam-attachments', 'Relate users and roles to their policies', ['iam-users', 'iam-roles', 'iam-policies']],
  ['bucket-access', 'Relate policies to the buckets they grant', ['iam-policies', 's3-buckets']],
  ['instance-profiles', 'Relate instances to the roles of their instance profiles', ['hosts', 'iam-roles']],
] as const satisfies readonly (readonly [string, string, readonly string[]])[];

export type SyntheticStepId = (typeof STEP_PLAN)[number][0];
export const SYNTHETIC_STEP_IDS: readonly SyntheticStepId[] = STEP_PLAN.map(([id]) => id);

type Emission = EntityBuilder | RelationshipBuilder;

/** Slots per page unless `pageSize` says otherwise: about 2,000 to 3,000 records a page. */
export const DEFAULT_SYNTHETIC_PAGE_SIZE = 1000;

/** Records emitted between two `ctx.flush()` calls of a page. */
const FLUSH_EVERY = 1000;

/** A step as the pager sees it: how many slots, and the records of slots `from` to `to` (excluded), in slot order. */
interface SlotStep {
  readonly slots: number;
  records(ctx: StepContext, from: number, to: number): Iterable<Emission>;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

function integer(value: unknown, field: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw ConnectorError.configuration(`${field} must be an integer of at least ${min}, got ${String(value)}`, field);
  }
  return value;
}

export class SyntheticConnector implements Connector {
  readonly name: string;
  readonly seed: number;
  readonly n: number;
  readonly generation: number;
  readonly churnFraction: number;
  readonly churnSeed: number;
  readonly failStep: SyntheticStepId | undefined;
  readonly accountLabel: string;
  readonly pageSize: number;
  readonly #world: World;

  constructor(options: SyntheticOptions = {}) {
    this.seed = integer(options.seed, 'seed', 1, Number.MIN_SAFE_INTEGER);
    this.n = integer(options.n, 'n', 1000, 1);
    const churn = options.churn;
    this.churnFraction = churn?.fraction ?? 0.01;
    if (typeof this.churnFraction !== 'number' || !(this.churnFraction >= 0 && this.churnFraction <= 1)) {
      throw ConnectorError.configuration(`churn.fraction must be a number from 0 to 1, got ${String(churn?.fraction)}`, 'churn.fraction');
    }
    this.churnSeed = integer(churn?.seed, 'churn.seed', 0, Number.MIN_SAFE_INTEGER);
    this.generation = integer(churn?.generation ?? options.generation, 'generation', churn ? 1 : 0, 0);
    if (options.failStep !== undefined && !SYNTHETIC_STEP_IDS.includes(options.failStep as SyntheticStepId)) {
      throw ConnectorError.configuration(
        `failStep "${options.failStep}" is not a step; use one of ${SYNTHETIC_STEP_IDS.join(', ')}`,
        'failStep',
      );
    }
    this.failStep = options.failStep as SyntheticStepId | undefined;
    this.accountLabel = options.accountLabel ?? 'synthetic';
    if (typeof this.accountLabel !== 'string' || !LABEL.test(this.accountLabel)) {
      throw ConnectorError.configuration(
        `accountLabel must be 1 to 32 lowercase letters, digits or inner dashes, got "${String(options.accountLabel)}"`,
        'accountLabel',
      );
    }
    this.name = options.name ?? 'synthetic-aws';
    this.pageSize = integer(options.pageSize, 'pageSize', DEFAULT_SYNTHETIC_PAGE_SIZE, 1);
    this.#world = new World({
      seed: this.seed,
      n: this.n,
      fraction: this.churnFraction,
      churnSeed: this.churnSeed,
      generation: this.generation,
      accountLabel: this.accountLabel,
    });
  }

  /** Slots per kind at this scale; agents are about 86% of hosts. */
  get counts(): SyntheticCounts {
    return this.#world.counts;
  }

  steps(): StepDefinition[] {
    return STEP_PLAN.map(([id, name, deps]) => step(id, name).dependsOn(deps).paged().iteratesPrior().build());
  }

  async executeStep(stepId: string, ctx: StepContext): Promise<StepPage> {
    const { slots, records } = this.#step(stepId);
    const from = this.#pageStart(ctx, slots);
    const to = Math.min(slots, from + this.pageSize);
    // Like an API that dies mid-pagination: the first half of the slots, then an error.
    const failAt = stepId === this.failStep ? Math.floor(slots / 2) : undefined;
    if (failAt !== undefined && failAt <= to) {
      await this.#emit(ctx, records(ctx, from, failAt));
      throw ConnectorError.api(503, `https://synthetic.invalid/${stepId}`, `synthetic failure of step "${stepId}" halfway, at slot ${failAt} of ${slots}`);
    }
    await this.#emit(ctx, records(ctx, from, to));
    return to < slots ? { next: String(to) } : {};
  }

  /** The first slot of this page: 0, or the cursor the previous page returned. */
  #pageStart(ctx: StepContext, slots: number): number {
    const cursor = ctx.cursor;
    if (cursor === undefined) return 0;
    const from = /^[1-9][0-9]{0,15}$/.test(cursor) ? Number(cursor) : Number.NaN;
    if (!(from < slots)) {
      const shown = JSON.stringify(String(cursor).slice(0, 40));
      throw ConnectorError.validation(`step "${ctx.stepId}" got cursor ${shown}, not a slot index from 1 to ${slots - 1}`, 'cursor', ctx.stepId);
    }
    return from;
  }

  async #emit(ctx: StepContext, records: Iterable<Emission>): Promise<void> {
    let count = 0;
    for (const record of records) {
      // A yield point every thousand records, as the guide asks of a step that
      // emits without awaiting: a streamed run then holds about that many
      // records of this page, not the page (and an abort is seen).
      if (++count % FLUSH_EVERY === 0) await ctx.flush();
      // A refused emit is a bug in this generator: fail the step loudly.
      const result = record instanceof EntityBuilder ? ctx.emitEntity(record) : ctx.emitRelationship(record);
      result.orThrow();
    }
  }

  #step(stepId: string): SlotStep {
    const c = this.#world.counts;
    const of = (slots: number, records: SlotStep['records']): SlotStep => ({ slots, records });
    switch (stepId as SyntheticStepId) {
      case 'accounts':
        return of(c.accounts, (_ctx, from, to) => this.#accounts(from, to));
      case 'vpcs':
        return of(c.vpcs, (ctx, from, to) => this.#vpcs(ctx, from, to));
      case 'subnets':
        return of(c.subnets, (ctx, from, to) => this.#subnets(ctx, from, to));
      case 'security-groups':
        // The groups, then their ingress rules: two slots per group.
        return of(2 * c.securityGroups, (ctx, from, to) => this.#securityGroups(ctx, from, to));
      case 'hosts':
        return of(c.hosts, (ctx, from, to) => this.#hosts(ctx, from, to));
      case 'edr-agents':
        return of(c.hosts, (ctx, from, to) => this.#agents(ctx, from, to));
      case 'iam-policies':
        return of(c.policies, (ctx, from, to) => this.#accountScoped(ctx, 'policy', from, to));
      case 'iam-users':
        return of(c.users, (ctx, from, to) => this.#accountScoped(ctx, 'user', from, to));
      case 'iam-roles':
        return of(c.roles, (ctx, from, to) => this.#accountScoped(ctx, 'role', from, to));
      case 's3-buckets':
        return of(c.buckets, (ctx, from, to) => this.#accountScoped(ctx, 'bucket', from, to));
      case 'iam-attachments':
        // Users' attachments, then roles'.
        return of(c.users + c.roles, (ctx, from, to) => this.#attachments(ctx, from, to));
      case 'bucket-access':
        return of(c.policies, (ctx, from, to) => this.#bucketAccess(ctx, from, to));
      case 'instance-profiles':
        return of(c.hosts, (ctx, from, to) => this.#instanceProfiles(ctx, from, to));
      default:
        throw ConnectorError.unknownStep(stepId);
    }
  }

  /*
   * Every step checks its parents with ctx.prior.has and emits only children of
   * parents that are there, and relationships only to records that are
   * there or that it emits itself: when an upstream step failed, its
   * dependents emit less, never a dangling relationship.
   */

  *#accounts(from: number, to: number): Generator<Emission> {
    const w = this.#world;
    for (let a = from; a < to; a++) yield w.account(a);
  }

  *#vpcs(ctx: StepContext, from: number, to: number): Generator<Emission> {
    const w = this.#world;
    for (let j = from; j < to; j++) {
      const account = w.accountId(w.accountOfVpc(j));
      if (!ctx.prior.has(KINDS.account.type, account)) continue;
      const vpc = w.key('vpc', j);
      yield w.vpc(j);
      yield relationship(KINDS.account.type, account, 'HAS', KINDS.vpc.type, vpc);
    }
  }

  *#subnets(ctx: StepContext, from: number, to: number): Generator<Emission> {
    const w = this.#world;
    for (let k = from; k < to; k++) {
      const vpc = w.key('vpc', w.vpcOfSubnet(k));
      if (!ctx.prior.has(KINDS.vpc.type, vpc)) continue;
      yield w.subnet(k);
      yield relationship(KINDS.vpc.type, vpc, 'CONTAINS', KINDS.subnet.type, w.key('subnet', k));
    }
  }

  *#securityGroups(ctx: StepContext, from: number, to: number): Generator<Emission> {
    const w = this.#world;
    const groups = w.counts.securityGroups;
    // A group is emitted when its VPC is there.
    const emitted = (m: number): boolean => ctx.prior.has(KINDS.vpc.type, w.key('vpc', w.vpcOfSecurityGroup(m)));
    for (let m = from; m < Math.min(to, groups); m++) {
      if (!emitted(m)) continue;
      const e = w.epoch('securityGroup', m);
      yield w.securityGroup(m, e);
      yield relationship(KINDS.vpc.type, w.key('vpc', w.vpcOfSecurityGroup(m)), 'HAS', KINDS.securityGroup.type, w.key('securityGroup', m, e));
    }
    for (let m = Math.max(from, groups) - groups; m < to - groups; m++) {
      if (!emitted(m)) continue;
      const e = w.epoch('securityGroup', m);
      const source = w.ingressSourceOf(m, e);
      if (source === undefined || !emitted(source)) continue;
      yield w.ingressRule(m, e, w.key('securityGroup', m, e), w.key('securityGroup', source));
    }
  }

  *#hosts(ctx: StepContext, from: number, to: number): Generator<Emission> {
    const w = this.#world;
    const prior = ctx.prior;
    for (let i = from; i < to; i++) {
      const e = w.epoch('host', i);
      const subnet = w.subnetOfHost(i, e);
      // DescribeInstances runs per account: instances of missing accounts are not seen.
      if (!prior.has(KINDS.account.type, w.accountId(w.accountOfVpc(w.vpcOfSubnet(subnet))))) continue;
      const host = w.key('host', i, e);
      yield w.host(i, e);
      const subnetKey = w.key('subnet', subnet);
      if (prior.has(KINDS.subnet.type, subnetKey)) {
        yield relationship(KINDS.subnet.type, subnetKey, 'HAS', KINDS.host.type, host);
      }
      for (const sg of w.securityGroupsOfHost(i, e)) {
        const sgKey = w.key('securityGroup', sg);
        if (prior.has(KINDS.securityGroup.type, sgKey)) {
          yield relationship(KINDS.host.type, host, 'USES', KINDS.securityGroup.type, sgKey);
        }
      }
    }
  }

  *#agents(ctx: StepContext, from: number, to: number): Generator<Emission> {
    const w = this.#world;
    for (let i = from; i < to; i++) {
      const e = w.epoch('host', i);
      const host = w.key('host', i, e);
      if (!w.hasAgent(i, e) || !ctx.prior.has(KINDS.host.type, host)) continue;
      yield w.agent(i, e, host);
      yield relationship(KINDS.agent.type, w.agentKey(i, e), 'PROTECTS', KINDS.host.type, host).property(
        'mode',
        'prevention',
      );
    }
  }

  *#accountScoped(ctx: StepContext, kind: 'user' | 'role' | 'policy' | 'bucket', from: number, to: number): Generator<Emission> {
    const w = this.#world;
    for (let i = from; i < to; i++) {
      const account = w.accountId(w.accountOf(i));
      if (!ctx.prior.has(KINDS.account.type, account)) continue;
      const e = w.epoch(kind, i);
      yield kind === 'user' ? w.user(i, e) : kind === 'role' ? w.role(i, e) : kind === 'policy' ? w.policy(i, e) : w.bucket(i, e);
      yield relationship(KINDS.account.type, account, 'HAS', KINDS[kind].type, w.key(kind, i, e));
    }
  }

  *#attachments(ctx: StepContext, from: number, to: number): Generator<Emission> {
    const w = this.#world;
    const users = w.counts.users;
    for (let slot = from; slot < to; slot++) {
      const [kind, i] = slot < users ? (['user', slot] as const) : (['role', slot - users] as const);
      const e = w.epoch(kind, i);
      const owner = w.key(kind, i, e);
      if (!ctx.prior.has(KINDS[kind].type, owner)) continue;
      for (const p of w.policiesOf(kind, i, e)) {
        const policy = w.key('policy', p);
        if (ctx.prior.has(KINDS.policy.type, policy)) yield w.attachment(kind, i, e, p, owner, policy);
      }
    }
  }

  *#bucketAccess(ctx: StepContext, from: number, to: number): Generator<Emission> {
    const w = this.#world;
    for (let p = from; p < to; p++) {
      const e = w.epoch('policy', p);
      const policy = w.key('policy', p, e);
      if (!ctx.prior.has(KINDS.policy.type, policy)) continue;
      for (const b of w.bucketsOfPolicy(p, e)) {
        const bucket = w.key('bucket', b);
        if (ctx.prior.has(KINDS.bucket.type, bucket)) yield w.grant(p, e, b, policy, bucket);
      }
    }
  }

  *#instanceProfiles(ctx: StepContext, from: number, to: number): Generator<Emission> {
    const w = this.#world;
    for (let i = from; i < to; i++) {
      const e = w.epoch('host', i);
      const role = w.roleOfHost(i, e);
      if (role === undefined) continue;
      const host = w.key('host', i, e);
      const roleKey = w.key('role', role);
      if (ctx.prior.has(KINDS.host.type, host) && ctx.prior.has(KINDS.role.type, roleKey)) {
        yield relationship(KINDS.host.type, host, 'USES', KINDS.role.type, roleKey);
      }
    }
  }
}

/** Creates the synthetic connector; see {@link SyntheticOptions}. */
export function createSyntheticConnector(options: SyntheticOptions = {}): SyntheticConnector {
  return new SyntheticConnector(options);
}

/** A CLI loads the module and calls its default export with the options it was given. */
export default createSyntheticConnector;
