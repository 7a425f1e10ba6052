import { describe, expect, it } from 'vitest';
import { ConnectorError, MAX_ID_BYTES, runConnector, step, validateConnector, type Connector, type StepDefinition } from 'parallax-edge';

function connectorWith(steps: StepDefinition[], ran: string[] = []): Connector {
  return {
    name: 'dag-test',
    steps: () => steps,
    async executeStep(stepId) {
      ran.push(stepId);
    },
  };
}

function validationError(fn: () => unknown): ConnectorError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).kind).toBe('Validation');
    return error as ConnectorError;
  }
  throw new Error('expected a validation error');
}

describe('INV-C05: step dependencies form a DAG', () => {
  it('INV-C05: accepts the guide example', () => {
    const graph = validateConnector(
      connectorWith([
        step('users', 'Collect users').build(),
        step('hosts', 'Collect hosts').build(),
        step('services', 'Collect services').dependsOn(['hosts']).build(),
        step('relationships', 'Collect relationships').dependsOn(['users', 'hosts', 'services']).build(),
      ]),
    );
    expect(graph.order).toEqual(['users', 'hosts', 'services', 'relationships']);
    expect(graph.dependents.get('hosts')).toEqual(['services', 'relationships']);
  });

  it('INV-C05: rejects a two-step cycle and shows the path a -> b -> a', () => {
    const error = validationError(() =>
      validateConnector(connectorWith([step('a', 'A').dependsOn(['b']).build(), step('b', 'B').dependsOn(['a']).build()])),
    );
    expect(error.message).toContain('a -> b -> a');
  });

  it('INV-C05: rejects a longer cycle and a self-dependency, showing each path', () => {
    const long = validationError(() =>
      validateConnector(
        connectorWith([
          step('a', 'A').dependsOn(['c']).build(),
          step('b', 'B').dependsOn(['a']).build(),
          step('c', 'C').dependsOn(['b']).build(),
        ]),
      ),
    );
    expect(long.message).toContain('a -> b -> c -> a');
    const self = validationError(() => validateConnector(connectorWith([step('x', 'X').dependsOn(['x']).build()])));
    expect(self.message).toContain('x -> x');
  });

  it('INV-C05: rejects an unknown dependency, naming the step and the dependency', () => {
    const error = validationError(() => validateConnector(connectorWith([step('services', 'S').dependsOn(['hostz']).build()])));
    expect(error.message).toBe('step "services" depends on unknown step "hostz"');
    expect(error.stepId).toBe('services');
    expect(error.field).toBe('steps[services].dependsOn');
  });

  it('INV-C05: rejects a duplicate step id', () => {
    const error = validationError(() => validateConnector(connectorWith([step('a', 'A').build(), step('a', 'A again').build()])));
    expect(error.message).toContain('duplicate step id "a"');
    expect(error.field).toBe('steps[1].id');
  });

  it('INV-C05: rejects a step id no store can keep (a lone surrogate, over MAX_ID_BYTES) before any step runs, naming it', () => {
    const surrogate = validationError(() => validateConnector(connectorWith([step('ok', 'OK').build(), step('b\ud800', 'B').build()])));
    expect(surrogate.field).toBe('steps[1].id');
    expect(surrogate.message).toBe('step #1 id contains a lone surrogate and is not valid Unicode');
    const long = validationError(() => validateConnector(connectorWith([step('s'.repeat(MAX_ID_BYTES + 1), 'Long').build()])));
    expect(long.field).toBe('steps[0].id');
    expect(long.message).toContain('over the limit of 1,000 (MAX_ID_BYTES)');
  });

  it('INV-C05: a rejected connector runs no step at all', async () => {
    const ran: string[] = [];
    const events: string[] = [];
    await expect(
      runConnector(connectorWith([step('ok', 'OK').build(), step('a', 'A').dependsOn(['b']).build(), step('b', 'B').dependsOn(['a']).build()], ran), {
        accountId: 'acme',
        onEvent: (e) => events.push(e.type),
      }),
    ).rejects.toThrow(/cycle/);
    expect(ran).toEqual([]);
    expect(events).toEqual([]);
  });

  it('rejects a connector without a name or without steps', () => {
    expect(validationError(() => validateConnector({ ...connectorWith([step('a', 'A').build()]), name: '' })).field).toBe('name');
    expect(validationError(() => validateConnector(connectorWith([]))).field).toBe('steps');
    // The name is the connector id stored with every row.
    expect(validationError(() => validateConnector({ ...connectorWith([step('a', 'A').build()]), name: 'dag\udc00' })).message).toBe(
      'the connector name contains a lone surrogate and is not valid Unicode',
    );
  });
});
