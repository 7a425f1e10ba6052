/**
 * The synthetic AWS estate: a pure function of (seed, n, churn, generation).
 *
 * Every record lives in a numbered slot of its kind (host #17, user #3, ...).
 * Nothing is stored between runs: keys, properties and links are recomputed
 * from the slot's coordinates, so any step can ask for any record and get the
 * same answer.
 *
 * Churn is closed-form. With a per-generation fraction `f`, each slot draws a
 * uniform phase `u` once; at generation `g` its epoch is `floor(g * p + u)`.
 * The epoch moves from g-1 to g for a fraction `p` of slots, whatever `g` is:
 * - replacement epoch (p = f/3): the slot's record is removed and a new one,
 *   with a new key, is added (instances terminated and launched, users
 *   offboarded and onboarded...);
 * - content version (p = f/3): the record keeps its key but its mutable
 *   properties change (state, tags, last-used timestamps...).
 * Kinds that are never replaced (accounts, VPCs, subnets) put the whole
 * fraction into content changes. So about `f` of the entities differ between
 * generation g-1 and g: f/3 removed, f/3 added, f/3 changed. At generation 0
 * every epoch is 0, so the base estate does not depend on the churn settings.
 */
import { entity, relationship, type EntityBuilder, type RelationshipBuilder } from 'parallax-edge';
import { Rng, hash32, hex8, fmix32, unit } from './random.js';

export interface WorldSettings {
  readonly seed: number;
  readonly n: number;
  /** Fraction of entities that differ from one generation to the next. */
  readonly fraction: number;
  readonly churnSeed: number;
  readonly generation: number;
  readonly accountLabel: string;
}

export type Kind = 'account' | 'vpc' | 'subnet' | 'securityGroup' | 'host' | 'agent' | 'user' | 'role' | 'policy' | 'bucket';

/** Entity type and class of each kind. */
export const KINDS: Readonly<Record<Kind, { readonly type: string; readonly class: string; readonly replaceable: boolean }>> = {
  account: { type: 'aws_account', class: 'Account', replaceable: false },
  vpc: { type: 'aws_vpc', class: 'NetworkSegment', replaceable: false },
  subnet: { type: 'aws_subnet', class: 'NetworkSegment', replaceable: false },
  securityGroup: { type: 'aws_security_group', class: 'Firewall', replaceable: true },
  host: { type: 'aws_instance', class: 'Host', replaceable: true },
  // An agent lives and dies with its host: it is replaced when the host is.
  agent: { type: 'edr_agent', class: 'Agent', replaceable: false },
  user: { type: 'aws_iam_user', class: 'User', replaceable: true },
  role: { type: 'aws_iam_role', class: 'Role', replaceable: true },
  policy: { type: 'aws_iam_policy', class: 'AccessPolicy', replaceable: true },
  bucket: { type: 'aws_s3_bucket', class: 'DataStore', replaceable: true },
};

/** How many slots of each kind a scale `n` gets (agents: about 86% of hosts). */
export interface SyntheticCounts {
  readonly accounts: number;
  readonly vpcs: number;
  readonly subnets: number;
  readonly securityGroups: number;
  readonly hosts: number;
  readonly users: number;
  readonly roles: number;
  readonly policies: number;
  readonly buckets: number;
}

/** Share of the entities each kind gets; they sum to 1 with agents at 0.30. */
const SHARE = { vpcs: 0.006, subnets: 0.03, securityGroups: 0.05, hosts: 0.35, users: 0.1, roles: 0.05, policies: 0.034, buckets: 0.08 };
const AGENT_COVERAGE = 0.3 / 0.35;
const HOST_ROLE_SHARE = 0.4;

export function syntheticCounts(n: number): SyntheticCounts {
  const accounts = Math.max(1, Math.ceil(n / 40_000));
  const vpcs = Math.max(accounts, Math.round(n * SHARE.vpcs));
  return {
    accounts,
    vpcs,
    subnets: Math.max(vpcs, Math.round(n * SHARE.subnets)),
    securityGroups: Math.max(vpcs, Math.round(n * SHARE.securityGroups)),
    hosts: Math.round(n * SHARE.hosts),
    users: Math.round(n * SHARE.users),
    roles: Math.round(n * SHARE.roles),
    policies: Math.max(accounts, Math.round(n * SHARE.policies)),
    buckets: Math.round(n * SHARE.buckets),
  };
}

const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'] as const;
const ENVS = [['prod', 5], ['staging', 2], ['dev', 2], ['qa', 1]] as const;
const TEAMS = ['platform', 'payments', 'data', 'identity', 'growth', 'security', 'infra', 'ml', 'search', 'mobile'] as const;
const APPS = ['web', 'api', 'worker', 'db', 'cache', 'batch', 'auth', 'search', 'billing', 'ingest', 'etl', 'gateway', 'queue', 'report'] as const;
const INSTANCE_TYPES = [
  ['t3.micro', 2, 1, 3],
  ['t3.medium', 2, 4, 5],
  ['m5.large', 2, 8, 8],
  ['m5.xlarge', 4, 16, 6],
  ['m6i.2xlarge', 8, 32, 3],
  ['c5.xlarge', 4, 8, 4],
  ['c6g.large', 2, 4, 3],
  ['r5.2xlarge', 8, 64, 2],
  ['g4dn.xlarge', 4, 16, 1],
] as const;
const FIRST = ['ada', 'alan', 'grace', 'linus', 'margaret', 'ken', 'barbara', 'dennis', 'frances', 'edsger', 'radia', 'tim', 'katherine', 'john', 'hedy', 'claude'] as const;
const LAST = ['lovelace', 'turing', 'hopper', 'torvalds', 'hamilton', 'thompson', 'liskov', 'ritchie', 'allen', 'dijkstra', 'perlman', 'berners-lee', 'johnson', 'mccarthy', 'lamarr', 'shannon'] as const;
const SERVICES = ['ec2', 'lambda', 'ecs-tasks', 'eks', 'glue', 'sagemaker'] as const;
const S3_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:DeleteObject', 's3:GetBucketPolicy'] as const;
const AGENT_VERSIONS = ['7.10.17706', '7.11.18110', '7.12.18404', '7.13.18607', '7.14.18803'] as const;

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const CREATED_FROM = Date.UTC(2022, 0, 1);
const CHANGED_FROM = Date.UTC(2025, 5, 1);
/** ISO 8601 to the second, as AWS APIs print it. */
const iso = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** Small per-kind integers, so kinds hash apart. */
const KIND_CODE: Readonly<Record<Kind, number>> = {
  account: 1, vpc: 2, subnet: 3, securityGroup: 4, host: 5, agent: 6, user: 7, role: 8, policy: 9, bucket: 10,
};
const STREAM = { epoch: 1, version: 2, fixed: 3, mutable: 4, link: 5, idA: 6, idB: 7 } as const;

/** Indices `group`, `group + groups`, ... below `count`: the members of one group. */
function memberCount(count: number, group: number, groups: number): number {
  return count > group ? Math.floor((count - 1 - group) / groups) + 1 : 0;
}

export class World {
  readonly counts: SyntheticCounts;
  readonly #seed: number;
  readonly #churnSeed: number;
  readonly #replaceRate: number;
  readonly #changeRate: number;
  readonly #generation: number;
  readonly #label: string;

  constructor(readonly settings: WorldSettings) {
    this.counts = syntheticCounts(settings.n);
    this.#seed = settings.seed >>> 0;
    this.#churnSeed = hash32(settings.seed, settings.churnSeed, 0xc4);
    this.#replaceRate = settings.fraction / 3;
    this.#changeRate = settings.fraction / 3;
    this.#generation = settings.generation;
    this.#label = settings.accountLabel;
  }

  // ---- churn ---------------------------------------------------------------

  /** Which incarnation of slot `i` exists at this generation. */
  epoch(kind: Kind, i: number): number {
    if (!KINDS[kind].replaceable || this.#generation === 0) return 0;
    return Math.floor(this.#generation * this.#replaceRate + unit(this.#churnSeed, KIND_CODE[kind], i, STREAM.epoch));
  }

  /** Content version of incarnation `e` of slot `i` at this generation. */
  version(kind: Kind, i: number, e: number): number {
    if (this.#generation === 0) return 0;
    const rate = KINDS[kind].replaceable || kind === 'agent' ? this.#changeRate : this.#changeRate * 3;
    return Math.floor(this.#generation * rate + unit(this.#churnSeed, KIND_CODE[kind], i, e, STREAM.version));
  }

  // ---- identities ----------------------------------------------------------

  /** 16 hex digits, unique per (kind, slot, epoch) for a seed: two uint32 bijections. */
  #id16(kind: Kind, i: number, e: number): string {
    const a = fmix32(i ^ hash32(this.#seed, KIND_CODE[kind], STREAM.idA));
    const b = fmix32((Math.imul(e, 0x9e3779b1) + i) ^ hash32(this.#seed, KIND_CODE[kind], STREAM.idB));
    return hex8(a) + hex8(b);
  }

  #fixed(kind: Kind, i: number, e: number): Rng {
    return new Rng(hash32(this.#seed, KIND_CODE[kind], i, e, STREAM.fixed));
  }

  #mutable(kind: Kind, i: number, e: number): Rng {
    return new Rng(hash32(this.#seed, KIND_CODE[kind], i, e, STREAM.mutable, this.version(kind, i, e)));
  }

  /** A timestamp that moves forward with every content version. */
  #changedAt(kind: Kind, i: number, e: number, rng: Rng): string {
    return iso(CHANGED_FROM + this.version(kind, i, e) * WEEK + rng.int(WEEK - DAY));
  }

  #link(kind: Kind, i: number, e: number, what: number): Rng {
    return new Rng(hash32(this.#seed, KIND_CODE[kind], i, e, STREAM.link, what));
  }

  accountId(a: number): string {
    // Twelve digits: six from the seed, six from the slot, so ids never collide.
    return String(100_000 + (hash32(this.#seed, KIND_CODE.account, STREAM.idA) % 900_000)) + String(a).padStart(6, '0');
  }

  key(kind: Exclude<Kind, 'agent' | 'account'>, i: number, e = this.epoch(kind, i)): string {
    const id = this.#id16(kind, i, e);
    switch (kind) {
      case 'vpc':
        return `vpc-0${id}`;
      case 'subnet':
        return `subnet-0${id}`;
      case 'securityGroup':
        return `sg-0${id}`;
      case 'host':
        return `i-0${id}`;
      case 'user':
        return `AIDA${id.toUpperCase()}`;
      case 'role':
        return `AROA${id.toUpperCase()}`;
      case 'policy':
        return `ANPA${id.toUpperCase()}`;
      case 'bucket':
        return `${this.#label}-${APPS[i % APPS.length]}-${id}`;
    }
  }

  agentKey(hostSlot: number, hostEpoch: number): string {
    return this.#id16('agent', hostSlot, hostEpoch) + hex8(hash32(this.#seed, hostSlot, hostEpoch, 0xa9)) + hex8(hash32(this.#seed, hostSlot, 0xaa));
  }

  // ---- structure -----------------------------------------------------------

  accountOfVpc(j: number): number {
    return j % this.counts.accounts;
  }

  vpcOfSubnet(k: number): number {
    return k % this.counts.vpcs;
  }

  vpcOfSecurityGroup(m: number): number {
    return m % this.counts.vpcs;
  }

  /** Accounts of IAM users, roles, policies and buckets. */
  accountOf(i: number): number {
    return i % this.counts.accounts;
  }

  subnetOfHost(i: number, e: number): number {
    return this.#link('host', i, e, 1).int(this.counts.subnets);
  }

  region(vpc: number): string {
    return REGIONS[hash32(this.#seed, KIND_CODE.vpc, vpc, 0x7e) % REGIONS.length]!;
  }

  /** Security groups (slots) a host uses: one or two of its VPC's. */
  securityGroupsOfHost(i: number, e: number): number[] {
    const vpc = this.vpcOfSubnet(this.subnetOfHost(i, e));
    const count = memberCount(this.counts.securityGroups, vpc, this.counts.vpcs);
    const rng = this.#link('host', i, e, 2);
    return rng.distinct(count, rng.chance(0.5) ? 2 : 1).map((t) => vpc + t * this.counts.vpcs);
  }

  /** The role (slot) of a host's instance profile, if it has one. */
  roleOfHost(i: number, e: number): number | undefined {
    const rng = this.#link('host', i, e, 3);
    if (!rng.chance(HOST_ROLE_SHARE)) return undefined;
    const account = this.accountOfVpc(this.vpcOfSubnet(this.subnetOfHost(i, e)));
    const count = memberCount(this.counts.roles, account, this.counts.accounts);
    return count === 0 ? undefined : account + rng.int(count) * this.counts.accounts;
  }

  hasAgent(i: number, e: number): boolean {
    return this.#link('host', i, e, 4).chance(AGENT_COVERAGE);
  }

  /** Security group (slot) whose members a group admits, if its VPC has another. */
  ingressSourceOf(m: number, e: number): number | undefined {
    const vpc = this.vpcOfSecurityGroup(m);
    const count = memberCount(this.counts.securityGroups, vpc, this.counts.vpcs);
    if (count < 2) return undefined;
    const own = Math.floor(m / this.counts.vpcs);
    const other = (own + 1 + this.#link('securityGroup', m, e, 1).int(count - 1)) % count;
    return vpc + other * this.counts.vpcs;
  }

  /** Policies (slots) attached to a user or role: one to three of its account's. */
  policiesOf(kind: 'user' | 'role', i: number, e: number): number[] {
    const account = this.accountOf(i);
    const count = memberCount(this.counts.policies, account, this.counts.accounts);
    const rng = this.#link(kind, i, e, 1);
    return rng.distinct(count, rng.range(1, 3)).map((t) => account + t * this.counts.accounts);
  }

  /** Buckets (slots) a policy grants access to: one or two of its account's. */
  bucketsOfPolicy(p: number, e: number): number[] {
    const account = this.accountOf(p);
    const count = memberCount(this.counts.buckets, account, this.counts.accounts);
    const rng = this.#link('policy', p, e, 1);
    return rng.distinct(count, rng.chance(0.5) ? 2 : 1).map((t) => account + t * this.counts.accounts);
  }

  // ---- entities ------------------------------------------------------------

  account(a: number): EntityBuilder {
    const fixed = this.#fixed('account', a, 0);
    const mutable = this.#mutable('account', a, 0);
    const env = fixed.weighted(ENVS);
    const alias = `${this.#label}-${env}-${a}`;
    return entity(KINDS.account.type, this.accountId(a))
      .class(KINDS.account.class)
      .displayName(alias)
      .properties({
        account_id: this.accountId(a),
        alias,
        email: `aws+${alias}@example.com`,
        organization_id: `o-${hex8(hash32(this.#seed, 0x0a)).slice(0, 8)}ab`,
        status: 'ACTIVE',
        joined_at: iso(CREATED_FROM - fixed.int(1000) * DAY),
        mfa_enforced: mutable.chance(0.8),
        password_policy_updated_at: this.#changedAt('account', a, 0, mutable),
        tags: [`env:${env}`, `owner:${fixed.pick(TEAMS)}`],
      });
  }

  vpc(j: number): EntityBuilder {
    const fixed = this.#fixed('vpc', j, 0);
    const mutable = this.#mutable('vpc', j, 0);
    const env = fixed.weighted(ENVS);
    const name = `${env}-${fixed.pick(TEAMS)}-vpc-${j}`;
    return entity(KINDS.vpc.type, this.key('vpc', j))
      .class(KINDS.vpc.class)
      .displayName(name)
      .properties({
        vpc_id: this.key('vpc', j),
        account_id: this.accountId(this.accountOfVpc(j)),
        region: this.region(j),
        cidr_block: `10.${j % 256}.0.0/16`,
        state: 'available',
        is_default: false,
        instance_tenancy: 'default',
        flow_logs_enabled: mutable.chance(0.7),
        last_modified_at: this.#changedAt('vpc', j, 0, mutable),
        tags: [`Name:${name}`, `env:${env}`],
      });
  }

  subnet(k: number): EntityBuilder {
    const vpc = this.vpcOfSubnet(k);
    const ordinal = Math.floor(k / this.counts.vpcs);
    const fixed = this.#fixed('subnet', k, 0);
    const mutable = this.#mutable('subnet', k, 0);
    const isPublic = fixed.chance(0.3);
    const az = `${this.region(vpc)}${'abc'[ordinal % 3]}`;
    const name = `${isPublic ? 'public' : 'private'}-${az}-${ordinal}`;
    return entity(KINDS.subnet.type, this.key('subnet', k))
      .class(KINDS.subnet.class)
      .displayName(name)
      .properties({
        subnet_id: this.key('subnet', k),
        vpc_id: this.key('vpc', vpc),
        account_id: this.accountId(this.accountOfVpc(vpc)),
        availability_zone: az,
        cidr_block: `10.${vpc % 256}.${ordinal % 256}.0/24`,
        map_public_ip_on_launch: isPublic,
        available_ip_address_count: mutable.range(20, 250),
        state: 'available',
        last_modified_at: this.#changedAt('subnet', k, 0, mutable),
        tags: [`Name:${name}`, `tier:${isPublic ? 'public' : 'private'}`],
      });
  }

  securityGroup(m: number, e: number): EntityBuilder {
    const vpc = this.vpcOfSecurityGroup(m);
    const fixed = this.#fixed('securityGroup', m, e);
    const mutable = this.#mutable('securityGroup', m, e);
    const app = fixed.pick(APPS);
    const name = `${app}-sg-${hex8(hash32(m, e)).slice(0, 4)}`;
    return entity(KINDS.securityGroup.type, this.key('securityGroup', m, e))
      .class(KINDS.securityGroup.class)
      .displayName(name)
      .properties({
        group_id: this.key('securityGroup', m, e),
        group_name: name,
        description: `Security group for ${app}`,
        vpc_id: this.key('vpc', vpc),
        account_id: this.accountId(this.accountOfVpc(vpc)),
        ingress_rule_count: mutable.range(1, 12),
        egress_rule_count: mutable.range(1, 3),
        open_to_world: mutable.chance(0.08),
        open_ports: mutable.distinct(6, mutable.range(1, 3)).map((p) => ['22', '80', '443', '3306', '5432', '6379'][p]!),
        last_modified_at: this.#changedAt('securityGroup', m, e, mutable),
        tags: [`app:${app}`],
      });
  }

  host(i: number, e: number): EntityBuilder {
    const subnet = this.subnetOfHost(i, e);
    const vpc = this.vpcOfSubnet(subnet);
    const ordinal = Math.floor(subnet / this.counts.vpcs);
    const fixed = this.#fixed('host', i, e);
    const mutable = this.#mutable('host', i, e);
    const [instanceType, vcpus, memory] = fixed.weighted(INSTANCE_TYPES.map((t) => [t, t[3]] as const));
    const app = fixed.pick(APPS);
    const env = fixed.weighted(ENVS);
    const team = fixed.pick(TEAMS);
    const name = `${app}-${env}-${hex8(hash32(i, e)).slice(0, 4)}`;
    const platform = fixed.chance(0.9) ? 'linux' : 'windows';
    const state = mutable.weighted([['running', 85], ['stopped', 12], ['pending', 2], ['stopping', 1]]);
    const isPublic = fixed.chance(0.15);
    const tags = [`Name:${name}`, `env:${env}`, `team:${team}`, `app:${app}`];
    if (mutable.chance(0.3)) tags.push(`patch-group:${mutable.pick(['a', 'b', 'c'])}`);
    return entity(KINDS.host.type, this.key('host', i, e))
      .class(KINDS.host.class)
      .displayName(name)
      .properties({
        instance_id: this.key('host', i, e),
        instance_type: instanceType,
        vcpus,
        memory_gib: memory,
        state,
        platform,
        architecture: instanceType.startsWith('c6g') ? 'arm64' : 'x86_64',
        image_id: `ami-0${mutable.hex(8)}`,
        private_ip: `10.${vpc % 256}.${ordinal % 256}.${4 + fixed.int(250)}`,
        public_ip: isPublic && state === 'running' ? `${fixed.range(3, 54)}.${fixed.int(256)}.${mutable.int(256)}.${mutable.range(1, 254)}` : null,
        region: this.region(vpc),
        availability_zone: `${this.region(vpc)}${'abc'[ordinal % 3]}`,
        vpc_id: this.key('vpc', vpc),
        subnet_id: this.key('subnet', subnet),
        account_id: this.accountId(this.accountOfVpc(vpc)),
        key_name: fixed.chance(0.6) ? `${team}-${env}` : null,
        monitoring_enabled: mutable.chance(0.5),
        ebs_optimized: fixed.chance(0.7),
        launched_at: iso(CREATED_FROM + fixed.int(1200) * DAY + fixed.int(DAY)),
        last_patched_at: this.#changedAt('host', i, e, mutable),
        tags,
      });
  }

  agent(hostSlot: number, hostEpoch: number, hostKey: string): EntityBuilder {
    const fixed = this.#fixed('agent', hostSlot, hostEpoch);
    const mutable = this.#mutable('agent', hostSlot, hostEpoch);
    const key = this.agentKey(hostSlot, hostEpoch);
    return entity(KINDS.agent.type, key)
      .class(KINDS.agent.class)
      .displayName(`edr-${hostKey}`)
      .properties({
        agent_id: key,
        host_instance_id: hostKey,
        hostname: `ip-${hex8(hash32(hostSlot, hostEpoch)).slice(0, 6)}.ec2.internal`,
        vendor: 'falcon',
        agent_version: mutable.pick(AGENT_VERSIONS),
        status: mutable.weighted([['online', 90], ['offline', 8], ['degraded', 2]]),
        prevention_policy: fixed.pick(['default', 'strict', 'servers', 'detect-only']),
        reduced_functionality_mode: mutable.chance(0.02),
        installed_at: iso(CREATED_FROM + fixed.int(1200) * DAY),
        last_seen_at: this.#changedAt('agent', hostSlot, hostEpoch, mutable),
      });
  }

  user(u: number, e: number): EntityBuilder {
    const fixed = this.#fixed('user', u, e);
    const mutable = this.#mutable('user', u, e);
    const name = `${fixed.pick(FIRST)}.${fixed.pick(LAST)}${fixed.chance(0.5) ? fixed.int(100) : ''}`;
    const account = this.accountId(this.accountOf(u));
    return entity(KINDS.user.type, this.key('user', u, e))
      .class(KINDS.user.class)
      .displayName(name)
      .properties({
        user_id: this.key('user', u, e),
        user_name: name,
        arn: `arn:aws:iam::${account}:user/${name}`,
        account_id: account,
        created_at: iso(CREATED_FROM + fixed.int(1200) * DAY),
        console_access: fixed.chance(0.7),
        mfa_enabled: mutable.chance(0.75),
        access_key_count: mutable.range(0, 2),
        password_last_used: this.#changedAt('user', u, e, mutable),
        tags: [`team:${fixed.pick(TEAMS)}`],
      });
  }

  role(r: number, e: number): EntityBuilder {
    const fixed = this.#fixed('role', r, e);
    const mutable = this.#mutable('role', r, e);
    const service = fixed.pick(SERVICES);
    const name = `${fixed.pick(APPS)}-${service}-role-${hex8(hash32(r, e)).slice(0, 4)}`;
    const account = this.accountId(this.accountOf(r));
    return entity(KINDS.role.type, this.key('role', r, e))
      .class(KINDS.role.class)
      .displayName(name)
      .properties({
        role_id: this.key('role', r, e),
        role_name: name,
        arn: `arn:aws:iam::${account}:role/${name}`,
        account_id: account,
        trusted_service: `${service}.amazonaws.com`,
        max_session_duration: fixed.pick([3600, 7200, 43200]),
        created_at: iso(CREATED_FROM + fixed.int(1200) * DAY),
        role_last_used_at: this.#changedAt('role', r, e, mutable),
        tags: [`team:${fixed.pick(TEAMS)}`],
      });
  }

  policy(p: number, e: number): EntityBuilder {
    const fixed = this.#fixed('policy', p, e);
    const mutable = this.#mutable('policy', p, e);
    const name = `${fixed.pick(TEAMS)}-${fixed.pick(APPS)}-access-${hex8(hash32(p, e)).slice(0, 4)}`;
    const account = this.accountId(this.accountOf(p));
    return entity(KINDS.policy.type, this.key('policy', p, e))
      .class(KINDS.policy.class)
      .displayName(name)
      .properties({
        policy_id: this.key('policy', p, e),
        policy_name: name,
        arn: `arn:aws:iam::${account}:policy/${name}`,
        account_id: account,
        is_aws_managed: false,
        default_version_id: `v${1 + this.version('policy', p, e)}`,
        statement_count: mutable.range(1, 8),
        allows_wildcard_action: mutable.chance(0.1),
        created_at: iso(CREATED_FROM + fixed.int(1200) * DAY),
        updated_at: this.#changedAt('policy', p, e, mutable),
      });
  }

  bucket(b: number, e: number): EntityBuilder {
    const fixed = this.#fixed('bucket', b, e);
    const mutable = this.#mutable('bucket', b, e);
    const name = this.key('bucket', b, e);
    return entity(KINDS.bucket.type, name)
      .class(KINDS.bucket.class)
      .displayName(name)
      .properties({
        bucket_name: name,
        arn: `arn:aws:s3:::${name}`,
        account_id: this.accountId(this.accountOf(b)),
        region: fixed.pick(REGIONS),
        created_at: iso(CREATED_FROM + fixed.int(1200) * DAY),
        versioning: mutable.chance(0.6) ? 'Enabled' : 'Suspended',
        encryption: fixed.pick(['AES256', 'aws:kms']),
        public_access_blocked: mutable.chance(0.92),
        object_count: mutable.int(5_000_000),
        size_bytes: mutable.int(2 ** 40),
        last_modified_at: this.#changedAt('bucket', b, e, mutable),
        tags: [`classification:${fixed.pick(['public', 'internal', 'confidential', 'restricted'])}`],
      });
  }

  // ---- relationship properties --------------------------------------------

  attachment(kind: 'user' | 'role', i: number, e: number, policy: number, from: string, to: string): RelationshipBuilder {
    const rng = new Rng(hash32(this.#seed, KIND_CODE[kind], i, e, policy, 0xa7));
    return relationship(KINDS[kind].type, from, 'ASSIGNED', KINDS.policy.type, to).property(
      'attached_at',
      iso(CREATED_FROM + rng.int(1200) * DAY),
    );
  }

  grant(p: number, e: number, bucket: number, from: string, to: string): RelationshipBuilder {
    const rng = new Rng(hash32(this.#seed, KIND_CODE.policy, p, e, bucket, 0xa8));
    return relationship(KINDS.policy.type, from, 'ALLOWS', KINDS.bucket.type, to).properties({
      effect: 'Allow',
      actions: rng.distinct(S3_ACTIONS.length, rng.range(1, 3)).map((a) => S3_ACTIONS[a]!),
    });
  }

  /** Group `m` (key `own`) admits traffic from the group `source`: own ALLOWS source, an ingress rule. */
  ingressRule(m: number, e: number, own: string, source: string): RelationshipBuilder {
    const rng = new Rng(hash32(this.#seed, KIND_CODE.securityGroup, m, e, 0xa6));
    const port = rng.pick([22, 80, 443, 3306, 5432, 6379, 8080]);
    return relationship(KINDS.securityGroup.type, own, 'ALLOWS', KINDS.securityGroup.type, source).properties({
      direction: 'ingress',
      protocol: 'tcp',
      from_port: port,
      to_port: port,
    });
  }
}

