/**
 * A synthetic AWS connector, after Parallax's: accounts, VPCs, subnets,
 * security groups, EC2 instances, EDR agents, IAM users/roles/policies and S3
 * buckets, with HAS, CONTAINS, USES, ASSIGNED, PROTECTS and ALLOWS between
 * them. No network: everything is computed from a seed, so the same options
 * always emit the same records. It exists to exercise the sync protocol and
 * the stores at any scale: churn between runs, a failing step, big batches.
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
  /** A step that fails halfway (after emitting half of its records), to exercise +P1. */
  readonly failStep?: string;
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
    return STEP_PLAN.map(([id, name, deps]) => step(id, name).dependsOn(deps).build());
  }

  async executeStep(stepId: string, ctx: StepContext): Promise<void> {
    const records = this.#records(stepId, ctx);
    if (stepId === this.failStep) {
      // Like an API that dies mid-pagination: half the records, then an error.
      const all = [...records];
      const half = Math.floor(all.length / 2);
      this.#emit(ctx, all.slice(0, half));
      throw ConnectorError.api(
        503,
        `https://synthetic.invalid/${stepId}`,
        `synthetic failure of step "${stepId}" after ${half} of ${all.length} records`,
      );
    }
    this.#emit(ctx, records);
  }

  #emit(ctx: StepContext, records: Iterable<Emission>): void {
    let count = 0;
    for (const record of records) {
      if (++count % 4096 === 0) ctx.signal.throwIfAborted();
      // A refused emit is a bug in this generator: fail the step loudly.
      const result = record instanceof EntityBuilder ? ctx.emitEntity(record) : ctx.emitRelationship(record);
      result.orThrow();
    }
  }

  #records(stepId: string, ctx: StepContext): Iterable<Emission> {
    switch (stepId as SyntheticStepId) {
      case 'accounts':
        return this.#accounts();
      case 'vpcs':
        return this.#vpcs(ctx);
      case 'subnets':
        return this.#subnets(ctx);
      case 'security-groups':
        return this.#securityGroups(ctx);
      case 'hosts':
        return this.#hosts(ctx);
      case 'edr-agents':
        return this.#agents(ctx);
      case 'iam-policies':
        return this.#accountScoped(ctx, 'policy');
      case 'iam-users':
        return this.#accountScoped(ctx, 'user');
      case 'iam-roles':
        return this.#accountScoped(ctx, 'role');
      case 's3-buckets':
        return this.#accountScoped(ctx, 'bucket');
      case 'iam-attachments':
        return this.#attachments(ctx);
      case 'bucket-access':
        return this.#bucketAccess(ctx);
      case 'instance-profiles':
        return this.#instanceProfiles(ctx);
      default:
        throw ConnectorError.unknownStep(stepId);
    }
  }

  /*
   * Every step reads its parents from ctx.prior and emits only children of
   * parents that are there, and relationships only to records that are
   * there or that it emits itself: when an upstream step failed, its
   * dependents emit less, never a dangling relationship.
   */

  *#accounts(): Generator<Emission> {
    const w = this.#world;
    for (let a = 0; a < w.counts.accounts; a++) yield w.account(a);
  }

  *#vpcs(ctx: StepContext): Generator<Emission> {
    const w = this.#world;
    for (let j = 0; j < w.counts.vpcs; j++) {
      const account = w.accountId(w.accountOfVpc(j));
      if (!ctx.prior.get(KINDS.account.type, account)) continue;
      const vpc = w.key('vpc', j);
      yield w.vpc(j);
      yield relationship(KINDS.account.type, account, 'HAS', KINDS.vpc.type, vpc);
    }
  }

  *#subnets(ctx: StepContext): Generator<Emission> {
    const w = this.#world;
    for (let k = 0; k < w.counts.subnets; k++) {
      const vpc = w.key('vpc', w.vpcOfSubnet(k));
      if (!ctx.prior.get(KINDS.vpc.type, vpc)) continue;
      yield w.subnet(k);
      yield relationship(KINDS.vpc.type, vpc, 'CONTAINS', KINDS.subnet.type, w.key('subnet', k));
    }
  }

  *#securityGroups(ctx: StepContext): Generator<Emission> {
    const w = this.#world;
    const emitted = new Set<number>();
    for (let m = 0; m < w.counts.securityGroups; m++) {
      const vpc = w.key('vpc', w.vpcOfSecurityGroup(m));
      if (!ctx.prior.get(KINDS.vpc.type, vpc)) continue;
      const e = w.epoch('securityGroup', m);
      emitted.add(m);
      yield w.securityGroup(m, e);
      yield relationship(KINDS.vpc.type, vpc, 'HAS', KINDS.securityGroup.type, w.key('securityGroup', m, e));
    }
    for (const m of emitted) {
      const e = w.epoch('securityGroup', m);
      const source = w.ingressSourceOf(m, e);
      if (source === undefined || !emitted.has(source)) continue;
      yield w.ingressRule(m, e, w.key('securityGroup', m, e), w.key('securityGroup', source));
    }
  }

  *#hosts(ctx: StepContext): Generator<Emission> {
    const w = this.#world;
    const prior = ctx.prior;
    for (let i = 0; i < w.counts.hosts; i++) {
      const e = w.epoch('host', i);
      const subnet = w.subnetOfHost(i, e);
      // DescribeInstances runs per account: instances of missing accounts are not seen.
      if (!prior.get(KINDS.account.type, w.accountId(w.accountOfVpc(w.vpcOfSubnet(subnet))))) continue;
      const host = w.key('host', i, e);
      yield w.host(i, e);
      const subnetKey = w.key('subnet', subnet);
      if (prior.get(KINDS.subnet.type, subnetKey)) {
        yield relationship(KINDS.subnet.type, subnetKey, 'HAS', KINDS.host.type, host);
      }
      for (const sg of w.securityGroupsOfHost(i, e)) {
        const sgKey = w.key('securityGroup', sg);
        if (prior.get(KINDS.securityGroup.type, sgKey)) {
          yield relationship(KINDS.host.type, host, 'USES', KINDS.securityGroup.type, sgKey);
        }
      }
    }
  }

  *#agents(ctx: StepContext): Generator<Emission> {
    const w = this.#world;
    for (let i = 0; i < w.counts.hosts; i++) {
      const e = w.epoch('host', i);
      const host = w.key('host', i, e);
      if (!w.hasAgent(i, e) || !ctx.prior.get(KINDS.host.type, host)) continue;
      yield w.agent(i, e, host);
      yield relationship(KINDS.agent.type, w.agentKey(i, e), 'PROTECTS', KINDS.host.type, host).property(
        'mode',
        'prevention',
      );
    }
  }

  *#accountScoped(ctx: StepContext, kind: 'user' | 'role' | 'policy' | 'bucket'): Generator<Emission> {
    const w = this.#world;
    const total = { user: w.counts.users, role: w.counts.roles, policy: w.counts.policies, bucket: w.counts.buckets }[kind];
    for (let i = 0; i < total; i++) {
      const account = w.accountId(w.accountOf(i));
      if (!ctx.prior.get(KINDS.account.type, account)) continue;
      const e = w.epoch(kind, i);
      yield kind === 'user' ? w.user(i, e) : kind === 'role' ? w.role(i, e) : kind === 'policy' ? w.policy(i, e) : w.bucket(i, e);
      yield relationship(KINDS.account.type, account, 'HAS', KINDS[kind].type, w.key(kind, i, e));
    }
  }

  *#attachments(ctx: StepContext): Generator<Emission> {
    const w = this.#world;
    for (const kind of ['user', 'role'] as const) {
      const total = kind === 'user' ? w.counts.users : w.counts.roles;
      for (let i = 0; i < total; i++) {
        const e = w.epoch(kind, i);
        const from = w.key(kind, i, e);
        if (!ctx.prior.get(KINDS[kind].type, from)) continue;
        for (const p of w.policiesOf(kind, i, e)) {
          const to = w.key('policy', p);
          if (ctx.prior.get(KINDS.policy.type, to)) yield w.attachment(kind, i, e, p, from, to);
        }
      }
    }
  }

  *#bucketAccess(ctx: StepContext): Generator<Emission> {
    const w = this.#world;
    for (let p = 0; p < w.counts.policies; p++) {
      const e = w.epoch('policy', p);
      const from = w.key('policy', p, e);
      if (!ctx.prior.get(KINDS.policy.type, from)) continue;
      for (const b of w.bucketsOfPolicy(p, e)) {
        const to = w.key('bucket', b);
        if (ctx.prior.get(KINDS.bucket.type, to)) yield w.grant(p, e, b, from, to);
      }
    }
  }

  *#instanceProfiles(ctx: StepContext): Generator<Emission> {
    const w = this.#world;
    for (let i = 0; i < w.counts.hosts; i++) {
      const e = w.epoch('host', i);
      const role = w.roleOfHost(i, e);
      if (role === undefined) continue;
      const host = w.key('host', i, e);
      const roleKey = w.key('role', role);
      if (ctx.prior.get(KINDS.host.type, host) && ctx.prior.get(KINDS.role.type, roleKey)) {
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
