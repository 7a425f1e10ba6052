import type { StepContext } from './context.js';
import { idProblem } from '../model/validate.js';
import { ConnectorError } from './errors.js';
import { checkSteps, type StepGraph } from './dag.js';
import { MAX_ORD_STEPS } from '../ingest/writer.js';
import type { StepDefinition, StepPage } from './step.js';

/**
 * A connector: a name, a DAG of steps, and the code that runs one step. The
 * guide's `Connector` trait; implement it with a class or a plain object.
 *
 * @example
 * class MyServiceConnector implements Connector {
 *   readonly name = 'my-service';
 *   steps() { return [step('users', 'Collect users').build()]; }
 *   async executeStep(stepId: string, ctx: StepContext) {
 *     switch (stepId) {
 *       case 'users': ctx.emitEntity(entity('user', 'u-1').class('User')); return;
 *       default: throw ConnectorError.unknownStep(stepId);
 *     }
 *   }
 * }
 */
export interface Connector {
  /** Stable id of the connector: stored rows are scoped by it. */
  readonly name: string;
  steps(): readonly StepDefinition[];
  /** Runs one step (one page of a paged step: return `{ next }` while there is another). */
  executeStep(stepId: string, ctx: StepContext): Promise<void | StepPage>;
}

/**
 * The load-time checks: a non-empty name, the two methods, and INV-C05 over
 * the steps. Throws a `Validation` ConnectorError; returns the checked graph.
 */
export function validateConnector(connector: Connector): StepGraph {
  if (connector === null || typeof connector !== 'object') {
    throw ConnectorError.validation('a connector must be an object', 'connector');
  }
  if (typeof connector.name !== 'string' || connector.name.trim().length === 0) {
    throw ConnectorError.validation('a connector needs a non-empty name', 'name');
  }
  // The name is the connector id stored with every row.
  const problem = idProblem(connector.name);
  if (problem) throw ConnectorError.validation(`the connector name ${problem}`, 'name');
  if (typeof connector.steps !== 'function') {
    throw ConnectorError.validation(`connector "${connector.name}" has no steps() method`, 'steps');
  }
  if (typeof connector.executeStep !== 'function') {
    throw ConnectorError.validation(`connector "${connector.name}" has no executeStep() method`, 'executeStep');
  }
  const steps = connector.steps();
  if (!Array.isArray(steps) || steps.length === 0) {
    throw ConnectorError.validation(`connector "${connector.name}" must define at least one step`, 'steps');
  }
  if (steps.length > MAX_ORD_STEPS) {
    throw ConnectorError.validation(`connector "${connector.name}" defines ${steps.length} steps; at most ${MAX_ORD_STEPS} are supported`, 'steps');
  }
  return checkSteps(steps);
}
