/**
 * The connector of Parallax's guide ("Writing a Connector"), in TypeScript,
 * step for step: users, hosts, services (depends on hosts), relationships
 * (depends on all three). It talks to any API of the shape `api.ts` serves.
 */
import { ConnectorError, entity, relationship, step, type Connector, type StepContext } from 'parallax-edge';

interface User { id: string; name: string; email: string; active: boolean; mfa_enabled: boolean }
interface Host { id: string; hostname: string; os: string; ip: string }
interface Service { id: string; name: string; port: number }
interface Role { id: string; name: string }
interface RoleAssignment { userId: string; roleId: string; timestamp: string }

export class MyServiceConnector implements Connector {
  readonly name = 'my-service';

  constructor(
    private readonly apiBaseUrl: string,
    private readonly apiToken: string,
  ) {}

  steps() {
    return [
      step('users', 'Collect users').build(),
      step('hosts', 'Collect hosts').build(),
      step('services', 'Collect services').dependsOn(['hosts']).build(), // runs after "hosts"
      step('relationships', 'Collect relationships').dependsOn(['users', 'hosts', 'services']).build(), // runs last
    ];
  }

  async executeStep(stepId: string, ctx: StepContext): Promise<void> {
    switch (stepId) {
      case 'users':
        return this.collectUsers(ctx);
      case 'hosts':
        return this.collectHosts(ctx);
      case 'services':
        return this.collectServices(ctx);
      case 'relationships':
        return this.collectRelationships(ctx);
      default:
        throw ConnectorError.unknownStep(stepId);
    }
  }

  private async collectUsers(ctx: StepContext): Promise<void> {
    const users = await this.get<User[]>('/users', ctx.signal);
    for (const user of users) {
      ctx.emitEntity(
        entity('user', user.id) // (type, key)
          .class('User') // entity class
          .displayName(user.name)
          .property('email', user.email)
          .property('active', user.active)
          .property('mfa_enabled', user.mfa_enabled),
      );
    }
  }

  private async collectHosts(ctx: StepContext): Promise<void> {
    for (const host of await this.get<Host[]>('/hosts', ctx.signal)) {
      ctx.emitEntity(entity('host', host.id).class('Host').displayName(host.hostname).properties({ os: host.os, ip: host.ip }));
    }
  }

  private async collectServices(ctx: StepContext): Promise<void> {
    // Read hosts emitted by the "hosts" step
    const hostIds = ctx.prior.entitiesByType('host').map((e) => e.entityKey);
    // Use host IDs to fetch services from the API
    for (const hostId of hostIds) {
      const services = await this.get<Service[]>(`/hosts/${encodeURIComponent(hostId)}/services`, ctx.signal);
      for (const service of services) {
        ctx.emitEntity(entity('service', service.id).class('Service').displayName(service.name).property('port', service.port));
        ctx.emitRelationship(relationship('host', hostId, 'RUNS', 'service', service.id));
      }
    }
  }

  private async collectRelationships(ctx: StepContext): Promise<void> {
    // Emit entities before the relationships that reference them (INV-C04).
    for (const role of await this.get<Role[]>('/roles', ctx.signal)) {
      ctx.emitEntity(entity('role', role.id).class('Role').displayName(role.name));
    }
    const assignments = await this.get<RoleAssignment[]>('/role-assignments', ctx.signal);
    for (const assignment of assignments) {
      ctx.emitRelationship(
        relationship(
          'user', // from_type
          assignment.userId, // from_key
          'ASSIGNED', // verb
          'role', // to_type
          assignment.roleId, // to_key
        ).property('assigned_at', assignment.timestamp),
      );
    }
  }

  private async get<T>(path: string, signal: AbortSignal): Promise<T> {
    if (!this.apiToken) throw ConnectorError.configuration('API token is empty', 'apiToken');
    const url = new URL(path, this.apiBaseUrl).toString();
    const response = await fetch(url, { headers: { authorization: `Bearer ${this.apiToken}` }, signal });
    if (response.status === 401) throw ConnectorError.authFailed('the API refused the token', url);
    if (!response.ok) throw ConnectorError.api(response.status, url, `API error: ${response.status}`);
    return (await response.json()) as T;
  }
}

export interface MyServiceConfig {
  readonly apiBaseUrl: string;
  readonly apiToken: string;
}

/** Module entry for the CLI: `parallax-edge sync examples/my-service/connector.ts --config cfg.json`. */
export default function createConnector(config: MyServiceConfig): MyServiceConnector {
  if (!config || typeof config.apiBaseUrl !== 'string') {
    throw ConnectorError.configuration('config.apiBaseUrl is required', 'apiBaseUrl');
  }
  return new MyServiceConnector(config.apiBaseUrl, config.apiToken);
}
