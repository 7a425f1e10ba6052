/**
 * The user's own connector, written against the installed package's public
 * API only. The user's Worker schedules it (src/worker.ts) and the CLI syncs
 * it from this file (`npx parallax-edge sync ./my-connector.ts`).
 */
import { ConnectorError, entity, relationship, step, type Connector, type StepContext } from 'parallax-edge';

export interface InventoryConfig {
  /** The network segment every host sits in. */
  readonly site: string;
  readonly hosts: number;
}

export function createInventoryConnector(config: InventoryConfig): Connector {
  return {
    name: 'inventory',
    steps: () => [step('site', 'Collect the site').build(), step('hosts', 'Collect hosts').dependsOn(['site']).build()],
    async executeStep(stepId: string, ctx: StepContext): Promise<void> {
      switch (stepId) {
        case 'site':
          ctx.emitEntity(entity('site', config.site).class('NetworkSegment').displayName(config.site)).orThrow();
          return;
        case 'hosts':
          for (let i = 0; i < config.hosts; i++) {
            ctx.emitEntity(entity('host', `h-${i}`).class('Host').displayName(`host-${i}`).property('index', i)).orThrow();
            ctx.emitRelationship(relationship('site', config.site, 'CONTAINS', 'host', `h-${i}`)).orThrow();
          }
          return;
        default:
          throw ConnectorError.unknownStep(stepId);
      }
    },
  };
}

/** The CLI builds the connector with the `--config` JSON. */
export default createInventoryConnector;
