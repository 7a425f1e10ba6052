import { EntityBuilder, type EntityData } from '../model/entity.js';
import { RelationshipBuilder, type RelationshipData } from '../model/relationship.js';
import { describeEntity, describeRelationship, entityProblems, relationshipProblems, type FieldProblem } from '../model/validate.js';
import { ConnectorError } from './errors.js';

/**
 * Outcome of one emit. Emit errors are non-fatal by default, as in the guide:
 * the record is dropped, a warning names the step and field, the step goes on.
 * Call `.orThrow()` to make an emit fatal for the step (the guide's `?`).
 */
export class EmitResult {
  static readonly OK = new EmitResult(undefined);

  constructor(readonly error: ConnectorError | undefined) {}

  get ok(): boolean {
    return this.error === undefined;
  }

  /** Throws the emit error, if any, failing the step. */
  orThrow(): void {
    if (this.error) throw this.error;
  }
}

/** Data of a step's dependencies, read-only. */
export interface PriorData {
  /** Every entity of `type` emitted by the step's dependencies, in emit order. */
  entitiesByType(type: string): readonly EntityData[];
  get(type: string, key: string): EntityData | undefined;
  entities(): readonly EntityData[];
  relationships(): readonly RelationshipData[];
}

export interface StepMetrics {
  readonly entitiesEmitted: number;
  readonly relationshipsEmitted: number;
  /** Emits refused with an error (invalid values, duplicates, strict vocabulary). */
  readonly rejected: number;
  readonly warnings: number;
}

/** What a step gets to do its work. */
export interface StepContext {
  readonly stepId: string;
  readonly connectorId: string;
  readonly accountId: string;
  readonly syncId: string;
  /** Aborted when the run is aborted: pass it to every `fetch`. */
  readonly signal: AbortSignal;
  /** Everything emitted by this step's transitive dependencies, and only that. */
  readonly prior: PriorData;
  readonly metrics: StepMetrics;
  emitEntity(entity: EntityBuilder | EntityData): EmitResult;
  emitRelationship(relationship: RelationshipBuilder | RelationshipData): EmitResult;
  /** Reports a warning through the run's events, attributed to this step. */
  warn(message: string, field?: string): void;
}

/** Hooks the runner gives a step context; kept narrow so the context stays testable. */
export interface EmitSink {
  readonly strict: boolean;
  /** Claims an id for this run; returns the step that claimed it first, if any. */
  claim(kind: 'entity' | 'relationship', key: string, stepId: string): string | undefined;
  warn(stepId: string, message: string, field?: string): void;
  progress(stepId: string, entities: number, relationships: number): void;
}

/** A record's run-wide identity; ids proper need the account and come at commit. */
export const entityRunKey = (e: Pick<EntityData, 'entityType' | 'entityKey'>): string =>
  `${e.entityType}\0${e.entityKey}`;
export const relationshipRunKey = (r: Omit<RelationshipData, 'properties'>): string =>
  `${r.fromType}\0${r.fromKey}\0${r.verb}\0${r.toType}\0${r.toKey}`;

const PROGRESS_EVERY = 1000;

/** The runner's StepContext: validates each emit and keeps what was accepted. */
export class RunStepContext implements StepContext {
  readonly entities: EntityData[] = [];
  readonly relationships: RelationshipData[] = [];
  readonly metrics = { entitiesEmitted: 0, relationshipsEmitted: 0, rejected: 0, warnings: 0 };

  constructor(
    readonly stepId: string,
    readonly connectorId: string,
    readonly accountId: string,
    readonly syncId: string,
    readonly signal: AbortSignal,
    readonly prior: PriorData,
    private readonly sink: EmitSink,
  ) {}

  emitEntity(input: EntityBuilder | EntityData): EmitResult {
    const data = input instanceof EntityBuilder ? input.build() : input;
    const what = data ? `entity ${describeEntity(data)}` : 'entity';
    const refused = this.#check(what, data ? entityProblems(data) : [{ field: 'entity', message: 'is missing' }]);
    if (refused) return refused;
    const first = this.sink.claim('entity', entityRunKey(data), this.stepId);
    if (first !== undefined) {
      return this.#reject(`${what} was already emitted in this run by step "${first}"`, 'entityKey');
    }
    this.entities.push(data);
    this.metrics.entitiesEmitted++;
    this.#progress();
    return EmitResult.OK;
  }

  emitRelationship(input: RelationshipBuilder | RelationshipData): EmitResult {
    const data = input instanceof RelationshipBuilder ? input.build() : input;
    const what = data ? `relationship ${describeRelationship(data)}` : 'relationship';
    const refused = this.#check(what, data ? relationshipProblems(data) : [{ field: 'relationship', message: 'is missing' }]);
    if (refused) return refused;
    const first = this.sink.claim('relationship', relationshipRunKey(data), this.stepId);
    if (first !== undefined) {
      return this.#reject(`${what} was already emitted in this run by step "${first}"`, 'relationship');
    }
    this.relationships.push(data);
    this.metrics.relationshipsEmitted++;
    this.#progress();
    return EmitResult.OK;
  }

  warn(message: string, field?: string): void {
    this.metrics.warnings++;
    this.sink.warn(this.stepId, message, field);
  }

  /** Vocabulary problems warn unless strict; every other problem refuses the record. */
  #check(what: string, problems: FieldProblem[]): EmitResult | undefined {
    let firstError: FieldProblem | undefined;
    for (const problem of problems) {
      if (problem.vocabulary && !this.sink.strict) {
        this.warn(`${what}: ${problem.field} ${problem.message}`, problem.field);
      } else {
        firstError ??= problem;
      }
    }
    if (!firstError) return undefined;
    const detail = problems
      .filter((p) => !p.vocabulary || this.sink.strict)
      .map((p) => `${p.field} ${p.message}`)
      .join('; ');
    return this.#reject(`${what} refused: ${detail}`, firstError.field);
  }

  #reject(message: string, field: string): EmitResult {
    this.metrics.rejected++;
    this.metrics.warnings++;
    this.sink.warn(this.stepId, message, field);
    return new EmitResult(ConnectorError.validation(message, field, this.stepId));
  }

  #progress(): void {
    const total = this.metrics.entitiesEmitted + this.metrics.relationshipsEmitted;
    if (total % PROGRESS_EVERY === 0) {
      this.sink.progress(this.stepId, this.metrics.entitiesEmitted, this.metrics.relationshipsEmitted);
    }
  }
}
