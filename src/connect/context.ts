import { EntityBuilder, type EntityData } from '../model/entity.js';
import { RelationshipBuilder, type RelationshipData } from '../model/relationship.js';
import {
  describeEntity,
  describeRelationship,
  entityLooksValid,
  entityProblems,
  relationshipLooksValid,
  relationshipProblems,
  snapshotEntity,
  snapshotRelationship,
  UnreadableField,
  type FieldProblem,
} from '../model/validate.js';
import { isKnownClass, isKnownVerb } from '../model/vocabulary.js';
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

/** Which entities {@link PriorData.iterateEntities} yields. */
export interface PriorFilter {
  readonly type?: string;
  readonly class?: string;
}

/**
 * Data of a step's dependencies (exactly what its transitive dependencies
 * emitted, whatever finished first), read-only.
 *
 * `has`, `find` and `iterateEntities` work in every mode with bounded
 * memory: in a run that streams into a store they read the sync's staging
 * area. The guide's synchronous `entitiesByType`, `get`, `entities` and
 * `relationships` hold the dependencies' records in memory for the step
 * (unless the step declares `iteratesPrior()`, which turns them off).
 */
export interface PriorData {
  /** True when a dependency emitted the entity; synchronous, from the run's id set. */
  has(type: string, key: string): boolean;
  /** The entity as a dependency emitted it. */
  find(type: string, key: string): Promise<EntityData | undefined>;
  /** The dependencies' entities (of a type or class), in id order, a page at a time. */
  iterateEntities(filter?: PriorFilter): AsyncIterable<EntityData>;
  /** Every entity of `type` emitted by the step's dependencies, in emit order (held in memory). */
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
  /** A paged step's cursor for this page: undefined on the first page, then the `next` it returned. */
  readonly cursor: string | undefined;
  emitEntity(entity: EntityBuilder | EntityData): EmitResult;
  emitRelationship(relationship: RelationshipBuilder | RelationshipData): EmitResult;
  /**
   * True when this step already emitted the entity in this run, on this page
   * or an earlier one: how a paged step emits an entity once without keeping
   * a set of its own across pages. Synchronous, from the run's id set.
   *
   * @example
   * if (!ctx.prior.has('user', key) && !ctx.hasEmitted('user', key)) ctx.emitEntity(toUser(member));
   */
  hasEmitted(type: string, key: string): boolean;
  /** Reports a warning through the run's events, attributed to this step. */
  warn(message: string, field?: string): void;
  /**
   * Stages what the step emitted so far (but its open units, a few dozen
   * records), waits until no chunk of the run is being staged, and gives
   * the event loop a turn (an abort or a signal handler is seen). A streamed
   * run holds in memory about what its steps emit between two such yield
   * points (flushes and page starts): a step that emits a great deal without
   * awaiting anything should call it every thousand records or so, or be
   * paged in pages that small; throws when the run was aborted.
   */
  flush(): Promise<void>;
}

/** Hooks the runner gives a step context; kept narrow so the context stays testable. */
export interface EmitSink {
  readonly strict: boolean;
  /**
   * Takes a validated record for this step: claims its id for the run and
   * hands it on; returns the step that emitted it first when it is a repeat.
   */
  accept(stepId: string, kind: 'entity', data: EntityData): string | undefined;
  accept(stepId: string, kind: 'relationship', data: RelationshipData): string | undefined;
  /** Whether `stepId` emitted the entity (type, key) in this run. */
  emitted(stepId: string, type: string, key: string): boolean;
  warn(stepId: string, message: string, field?: string): void;
  progress(stepId: string, entities: number, relationships: number): void;
  flush(stepId: string): Promise<void>;
}

const PROGRESS_EVERY = 1000;

/** The runner's StepContext: validates each emit and passes what it accepts to the sink. */
export class RunStepContext implements StepContext {
  readonly metrics = { entitiesEmitted: 0, relationshipsEmitted: 0, rejected: 0, warnings: 0 };
  cursor: string | undefined;

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
    // A builder's data is a snapshot already; a plain record is copied, read once.
    let data: EntityData;
    try {
      data = input instanceof EntityBuilder ? input.build() : snapshotEntity(input);
    } catch (error) {
      return this.#unreadable('entity', error);
    }
    // The detailed problem list (and its messages) only when the fast check fails or the class is unknown.
    if (!data || !entityLooksValid(data) || !isKnownClass(data.entityClass)) {
      const what = data ? `entity ${describeEntity(data)}` : 'entity';
      const refused = this.#check(what, data ? entityProblems(data) : [{ field: 'entity', message: 'is missing' }]);
      if (refused) return refused;
    }
    const first = this.sink.accept(this.stepId, 'entity', data);
    if (first !== undefined) {
      return this.#reject(`entity ${describeEntity(data)} was already emitted in this run by step "${first}"`, 'entityKey');
    }
    this.metrics.entitiesEmitted++;
    this.#progress();
    return EmitResult.OK;
  }

  emitRelationship(input: RelationshipBuilder | RelationshipData): EmitResult {
    let data: RelationshipData;
    try {
      data = input instanceof RelationshipBuilder ? input.build() : snapshotRelationship(input);
    } catch (error) {
      return this.#unreadable('relationship', error);
    }
    // No closure per emit here: this runs for every relationship.
    if (!data || !relationshipLooksValid(data) || !isKnownVerb(data.verb)) {
      const what = data ? `relationship ${describeRelationship(data)}` : 'relationship';
      const refused = this.#check(what, data ? relationshipProblems(data) : [{ field: 'relationship', message: 'is missing' }]);
      if (refused) return refused;
    }
    const first = this.sink.accept(this.stepId, 'relationship', data);
    if (first !== undefined) return this.#reject(`relationship ${describeRelationship(data)} was already emitted in this run by step "${first}"`, 'relationship');
    this.metrics.relationshipsEmitted++;
    this.#progress();
    return EmitResult.OK;
  }

  hasEmitted(type: string, key: string): boolean {
    return this.sink.emitted(this.stepId, type, key);
  }

  warn(message: string, field?: string): void {
    this.metrics.warnings++;
    this.sink.warn(this.stepId, message, field);
  }

  flush(): Promise<void> {
    return this.sink.flush(this.stepId);
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

  /** A record whose getter or proxy threw while it was read: refused like any bad record (anything else is rethrown). */
  #unreadable(what: string, error: unknown): EmitResult {
    if (!(error instanceof UnreadableField)) throw error;
    return this.#reject(`${what} refused: ${error.message}`, error.field);
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
