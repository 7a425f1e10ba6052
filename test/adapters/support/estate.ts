/**
 * A synthetic estate for the store plan and limit tests (runtime-neutral: it
 * runs in Node and in workerd): `hosts` hosts in one step, then one
 * relationship from each host to the next in a step after it, so 2 x hosts
 * rows of realistic size.
 */
import { entity, relationship, step, type Connector } from 'parallax-edge';

/** `changed(i)` gives host i another OS: a churn of the hosts it selects. */
export function estateConnector(hosts: number, changed: (i: number) => boolean = () => false): Connector {
  return {
    name: 'estate',
    steps: () => [step('hosts', 'Hosts').build(), step('links', 'Links').dependsOn(['hosts']).build()],
    async executeStep(stepId, ctx) {
      for (let i = 0; i < hosts; i++) {
        if (stepId === 'hosts') {
          ctx.emitEntity(
            entity('host', `h-${i}`)
              .class('Host')
              .displayName(`host ${i}`)
              .properties({ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, os: changed(i) ? 'debian-13' : 'debian-12', tags: ['prod', `rack-${i % 40}`] }),
          );
        } else {
          ctx.emitRelationship(relationship('host', `h-${i}`, 'CONNECTS', 'host', `h-${(i + 1) % hosts}`).property('port', 443));
        }
      }
    },
  };
}
