import { idProblem } from '../model/validate.js';
import { ConnectorError } from './errors.js';
import type { StepDefinition } from './step.js';

/** A validated step graph: steps by id, and who depends on whom. */
export interface StepGraph {
  readonly steps: ReadonlyMap<string, StepDefinition>;
  /** Step ids in definition order. */
  readonly order: readonly string[];
  readonly dependents: ReadonlyMap<string, readonly string[]>;
}

/**
 * INV-C05: checks that the steps form a DAG before anything runs. Throws a
 * `Validation` ConnectorError naming the step for an empty, duplicate or
 * unstorable id (not valid Unicode, over `MAX_ID_BYTES`), an unknown
 * dependency, or a cycle (the message shows it: `a -> b -> a`).
 */
export function checkSteps(definitions: readonly StepDefinition[]): StepGraph {
  const steps = new Map<string, StepDefinition>();
  for (const [index, def] of definitions.entries()) {
    if (typeof def?.id !== 'string' || def.id.length === 0) {
      throw ConnectorError.validation(`step #${index} has an empty id`, `steps[${index}].id`);
    }
    // Step ids are stored with every row the step writes.
    const problem = idProblem(def.id);
    if (problem) throw ConnectorError.validation(`step #${index} id ${problem}`, `steps[${index}].id`);
    if (steps.has(def.id)) {
      throw ConnectorError.validation(`duplicate step id "${def.id}"`, `steps[${index}].id`, def.id);
    }
    steps.set(def.id, def);
  }
  const dependents = new Map<string, string[]>([...steps.keys()].map((id) => [id, []]));
  for (const def of steps.values()) {
    for (const dep of def.dependsOn) {
      if (!steps.has(dep)) {
        throw ConnectorError.validation(
          `step "${def.id}" depends on unknown step "${dep}"`,
          `steps[${def.id}].dependsOn`,
          def.id,
        );
      }
      dependents.get(dep)!.push(def.id);
    }
  }
  const cycle = findCycle(steps);
  if (cycle) {
    throw ConnectorError.validation(`step dependencies form a cycle: ${cycle.join(' -> ')}`, 'steps', cycle[0]);
  }
  return { steps, order: [...steps.keys()], dependents };
}

/** Depth-first search; returns the first cycle found as a closed path. */
function findCycle(steps: ReadonlyMap<string, StepDefinition>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const dep of steps.get(id)!.dependsOn) {
      const found = visit(dep);
      if (found) return found;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of steps.keys()) {
    const found = visit(id);
    // Walking dependsOn edges finds the cycle backwards; show it in run order.
    if (found) return found.reverse();
  }
  return undefined;
}

/** Every step that depends on `stepId`, directly or not. */
export function transitiveDependents(graph: StepGraph, stepId: string): Set<string> {
  const out = new Set<string>();
  const queue = [...(graph.dependents.get(stepId) ?? [])];
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (out.has(id)) continue;
    out.add(id);
    queue.push(...(graph.dependents.get(id) ?? []));
  }
  return out;
}

/** Every step that `stepId` depends on, directly or not. */
export function transitiveDependencies(graph: StepGraph, stepId: string): Set<string> {
  const out = new Set<string>();
  const queue = [...graph.steps.get(stepId)!.dependsOn];
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (out.has(id)) continue;
    out.add(id);
    queue.push(...graph.steps.get(id)!.dependsOn);
  }
  return out;
}
