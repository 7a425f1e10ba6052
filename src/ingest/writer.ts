import type { EntityData } from '../model/entity.js';
import { idHex } from '../model/ids.js';
import { canonicalProperties } from '../model/values.js';
import type { RelationshipData } from '../model/relationship.js';
import type {
  CommitResult,
  MatchedUnit,
  PreparedEntity,
  PreparedRelationship,
  RecordKind,
  SyncClose,
  SyncSession,
  UnitRecord,
} from '../store/types.js';
import { stagedChunk } from './chunk.js';
import { RowPreparer } from './prepare.js';
import { RunKeys } from './run-keys.js';
import { nextTurn } from '../connect/turn.js';
import { UnitBuffer, unitHeader, unitRecordsOf } from './units.js';

/**
 * `PreparedRelationship.ord`: step number × ORD_STEP + page × ORD_PAGE +
 * the relationship's index in its page, so that a sync run page by page in
 * separate invocations orders its rows as one run in process does.
 */
export const ORD_PAGE = 2 ** 20;
export const ORD_STEP = 2 ** 40;
/** Steps and pages a sync numbers exactly within a float's 53 bits. */
export const MAX_ORD_STEPS = 2 ** 13 - 1;

/** Rows per staged chunk unless a run says otherwise. */
export const DEFAULT_CHUNK_ROWS = 2000;

export interface WriterOptions {
  /** Prepared rows a step gathers before they are staged as one chunk (whole units, so a little more). */
  readonly chunkRows?: number;
}

/** What a writer did, for `StreamedSyncOutput.staging`. */
export interface StagingStats {
  /** Chunks handed to the store. */
  chunks: number;
  /** Prepared rows staged (the rest was recognised in matched units). */
  rowsStaged: number;
  /** Rows recognised as unchanged in units the scope stored, never prepared nor staged. */
  rowsMatched: number;
  /** Most records and prepared rows the writer held in memory at once (open units, chunks not yet staged). */
  peakRowsHeld: number;
}

/**
 * Streams one sync into a store's session: records arrive validated, with
 * their ids, step by step; each step's units are matched against what the
 * scope stored (then only named) or prepared, and staged in bounded chunks,
 * one chunk of the run at a time ({@link SyncWriter.room}). What it holds in
 * memory is one open unit per step and kind, what a step emitted since its
 * last yield point, the chunk being staged, and the run's compact id set
 * ({@link RunKeys}).
 */
export class SyncWriter {
  readonly keys = new RunKeys();
  readonly chunkRows: number;
  readonly stats: StagingStats = { chunks: 0, rowsStaged: 0, rowsMatched: 0, peakRowsHeld: 0 };
  #held = 0;
  readonly #steps = new Set<StepWriter>();

  constructor(
    readonly session: SyncSession,
    options: WriterOptions = {},
  ) {
    this.chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
    if (!Number.isInteger(this.chunkRows) || this.chunkRows < 1) {
      throw new RangeError(`chunkRows must be a positive integer, got ${String(options.chunkRows)}`);
    }
    if (session.unitRecords !== undefined) unitRecordsOf(session.unitRecords);
  }

  /** Counts rows coming into (positive) or leaving (negative) the writer's memory. */
  hold(rows: number): void {
    this.#held += rows;
    if (this.#held > this.stats.peakRowsHeld) this.stats.peakRowsHeld = this.#held;
  }

  /** Chunks of any step handed to the store and not settled yet. */
  #inflight = 0;
  /** Steps waiting at a yield point for the run's room, first come first served. */
  #queue: (() => void)[] = [];
  /** A step went on this turn: the next one waits for the turn's end. */
  #waking = false;

  /**
   * Backpressure, run-wide, at a step's yield points (a page's start,
   * `ctx.flush()`): undefined when the step may go on now, else a promise
   * that resolves when it may. Steps go on one at a time while a chunk of
   * the run is being staged, so steps that emit without awaiting take turns
   * with the store instead of each piling up rows behind another's chunk.
   * Only scheduling changes: what a step sees does not depend on it. The
   * caller must go on in the same synchronous stretch once let through.
   */
  room(): Promise<void> | undefined {
    if (this.#aborted) return undefined;
    if (this.#inflight === 0 && this.#queue.length === 0 && !this.#waking) {
      this.#passed();
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.#queue.push(resolve);
      this.#pump();
    });
  }

  /** A step handed a chunk to the store. */
  chunkStarted(): void {
    this.#inflight++;
  }

  /** A chunk's staging settled (staged, failed or skipped). */
  chunkSettled(): void {
    this.#inflight--;
    this.#pump();
  }

  /**
   * One step goes on per turn of the event loop: a step let go runs up to
   * its first await (a page that emits without awaiting, and its chunk, all
   * within the turn); if it started a chunk by then, the others wait for
   * that chunk; if it only waits for I/O, the next one goes on.
   */
  #passed(): void {
    this.#waking = true;
    void nextTurn().then(() => {
      this.#waking = false;
      this.#pump();
    });
  }

  /** Lets the first waiter go when nothing is in flight and nobody went on this turn. */
  #pump(): void {
    if (this.#waking || this.#inflight > 0) return;
    const next = this.#queue.shift();
    if (!next) return;
    this.#passed();
    next();
  }

  /**
   * Starts a step: reads which units the scope stored for it. `number` (from
   * 1) orders the sync's steps for `PreparedRelationship.ord`.
   */
  async openStep(stepId: string, number: number): Promise<StepWriter> {
    const [entityUnits, relationshipUnits] = await Promise.all([
      this.session.storedUnits(stepId, 'entity'),
      this.session.storedUnits(stepId, 'relationship'),
    ]);
    const { accountId, connectorId } = this.session.header;
    const step = new StepWriter(this, stepId, number * ORD_STEP, new RowPreparer(accountId, connectorId, stepId), {
      entity: entityUnits,
      relationship: relationshipUnits,
    });
    this.#steps.add(step);
    return step;
  }

  #aborted = false;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Stops staging and waits for chunks in flight; the session's staging area stays (a durable engine retries). */
  async abandon(): Promise<void> {
    this.#aborted = true;
    for (const resolve of this.#queue.splice(0)) resolve();
    await Promise.all([...this.#steps].map((step) => step.settled()));
  }

  /** Stops staging, waits for chunks in flight, and drops the session's staging area (+P4). */
  async abort(): Promise<void> {
    await this.abandon();
    await this.session.abort().catch(() => undefined);
  }

  /** Commits what the completed steps staged (failed steps were discarded). */
  async commit(close: Omit<SyncClose, 'entities' | 'relationships'>): Promise<CommitResult> {
    let entities = 0;
    let relationships = 0;
    for (const step of this.#steps) {
      if (step.failed) continue;
      await step.end();
      entities += step.entities;
      relationships += step.relationships;
    }
    // The commit reads no id of the run: its memory goes before the commit's peak.
    this.keys.release();
    return this.session.commit({ ...close, entities, relationships });
  }
}

/** One step's side of a {@link SyncWriter}. */
export class StepWriter {
  entities = 0;
  relationships = 0;
  failed = false;
  /** The page being run (0 for a step that is not paged); chunks carry it. */
  page = 0;
  /** Relationships of this page so far. */
  #pageRelationships = 0;
  readonly #entityUnit: UnitBuffer<EntityData>;
  readonly #relationshipUnit: UnitBuffer<RelationshipData>;
  #pendingEntities: PreparedEntity[] = [];
  #pendingRelationships: PreparedRelationship[] = [];
  #pendingUnits: UnitRecord[] = [];
  #pendingMatched: MatchedUnit[] = [];
  /** The chunk being staged; chunks of one step go one after the other. */
  #inflight: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;

  constructor(
    private readonly writer: SyncWriter,
    readonly stepId: string,
    /** The `ord` of the step's first relationship. */
    private readonly ordBase: number,
    private readonly preparer: RowPreparer,
    private readonly stored: Readonly<Record<RecordKind, ReadonlySet<string>>>,
  ) {
    const { accountId, connectorId } = writer.session.header;
    const { unitRecords } = writer.session;
    this.#entityUnit = new UnitBuffer('entity', unitHeader(accountId, connectorId, stepId, 'entity'), unitRecords);
    this.#relationshipUnit = new UnitBuffer('relationship', unitHeader(accountId, connectorId, stepId, 'relationship'), unitRecords);
  }

  /** A validated entity whose id (4 words) the run has claimed for this step. */
  addEntity(e: EntityData, id: ArrayLike<number>): void {
    this.entities++;
    this.writer.hold(1);
    if (this.#entityUnit.add(e, id)) this.#closeEntityUnit();
  }

  addRelationship(r: RelationshipData, id: ArrayLike<number>): void {
    this.relationships++;
    this.#pageRelationships++;
    this.writer.hold(1);
    if (this.#relationshipUnit.add(r, id)) this.#closeRelationshipUnit();
  }

  /** Resolves when no chunk is in flight, whatever became of it. */
  settled(): Promise<void> {
    return this.#inflight;
  }

  /** Resolves once everything emitted so far (but the open units) is staged; rejects if staging failed. */
  async flushed(): Promise<void> {
    await this.#inflight;
    if (this.#failure) throw this.#failure.error;
  }

  /**
   * A yield point inside a page (`ctx.flush()`): stages what the step
   * prepared so far (the open units stay open: where units end must not
   * depend on when a step flushes) and waits for it. So between two yield
   * points a step adds at most what it emits.
   */
  async drain(): Promise<void> {
    // Matched units hold no rows: they wait for the next chunk (a re-sync's flushes then stage nothing).
    if (this.#pendingEntities.length + this.#pendingRelationships.length > 0) this.#flush();
    await this.flushed();
  }

  /** The run's backpressure at a yield point (see {@link SyncWriter.room}). */
  room(): Promise<void> | undefined {
    return this.writer.room();
  }

  /** Starts page `page` of the step (pages end with {@link end}). */
  startPage(page: number): void {
    if (!Number.isInteger(page) || page < 0 || page >= ORD_STEP / ORD_PAGE) throw new RangeError(`page must be an integer from 0 to ${ORD_STEP / ORD_PAGE - 1}`);
    this.page = page;
    this.#pageRelationships = 0;
  }

  /** Ends the open units (a page or the step ends) and stages everything. */
  async end(): Promise<void> {
    if (this.#entityUnit.length > 0) this.#closeEntityUnit();
    if (this.#relationshipUnit.length > 0) this.#closeRelationshipUnit();
    this.#flush();
    await this.flushed();
  }

  /** +P1: the step failed; what it staged or matched is dropped from the session. */
  async fail(): Promise<void> {
    this.failed = true;
    this.writer.hold(-(this.#entityUnit.length + this.#relationshipUnit.length + this.#pendingEntities.length + this.#pendingRelationships.length));
    this.#entityUnit.clear();
    this.#relationshipUnit.clear();
    this.#pendingEntities = [];
    this.#pendingRelationships = [];
    this.#pendingUnits = [];
    this.#pendingMatched = [];
    await this.#inflight;
    await this.writer.session.discardStep(this.stepId);
  }

  #closeEntityUnit(): void {
    const unit = this.#entityUnit;
    const ids = this.#changedUnitIds(unit, 0);
    if (ids) for (let i = 0; i < ids.length; i++) this.#pendingEntities.push(this.preparer.entity(unit.records[i]!, ids[i]!, canonicalProperties(unit.records[i]!.properties, unit.properties[i])));
    unit.clear();
    this.#maybeFlush();
  }

  #closeRelationshipUnit(): void {
    const unit = this.#relationshipUnit;
    const ord = this.ordBase + this.page * ORD_PAGE + this.#pageRelationships - unit.length;
    const ids = this.#changedUnitIds(unit, ord);
    if (ids) for (let i = 0; i < ids.length; i++) this.#pendingRelationships.push(this.preparer.relationship(unit.records[i]!, ids[i]!, ord + i, canonicalProperties(unit.records[i]!.properties, unit.properties[i])));
    unit.clear();
    this.#maybeFlush();
  }

  /**
   * The unit's digest decides: a unit the scope stored is only named as
   * matched (undefined is returned); any other unit joins the chunk, and
   * its ids are returned for its rows to be prepared.
   */
  #changedUnitIds(unit: UnitBuffer<EntityData> | UnitBuffer<RelationshipData>, ord: number): string[] | undefined {
    const { kind } = unit;
    const digest = unit.digest();
    if (this.stored[kind].has(digest)) {
      this.#pendingMatched.push({ kind, digest, ord });
      this.writer.stats.rowsMatched += unit.length;
      this.writer.hold(-unit.length);
      return undefined;
    }
    const ids = new Array<string>(unit.length);
    for (let i = 0; i < ids.length; i++) ids[i] = idHex(unit.ids, i * 4);
    this.#pendingUnits.push({ digest, stepId: this.stepId, kind, ids });
    return ids;
  }

  #maybeFlush(): void {
    if (this.#pendingEntities.length + this.#pendingRelationships.length >= this.writer.chunkRows) this.#flush();
  }

  #flush(): void {
    if (
      this.#pendingEntities.length === 0 &&
      this.#pendingRelationships.length === 0 &&
      this.#pendingUnits.length === 0 &&
      this.#pendingMatched.length === 0
    ) {
      return;
    }
    const chunk = stagedChunk({
      stepId: this.stepId,
      page: this.page,
      entities: this.#pendingEntities,
      relationships: this.#pendingRelationships,
      units: this.#pendingUnits,
      matched: this.#pendingMatched,
    });
    this.#pendingEntities = [];
    this.#pendingRelationships = [];
    this.#pendingUnits = [];
    this.#pendingMatched = [];
    const { writer } = this;
    const rows = chunk.entities.length + chunk.relationships.length;
    writer.stats.chunks++;
    writer.stats.rowsStaged += rows;
    writer.chunkStarted();
    this.#inflight = this.#inflight.then(async () => {
      try {
        if (!this.#failure && !this.failed && !writer.aborted) await writer.session.stage(chunk);
      } catch (error) {
        this.#failure = { error };
      } finally {
        writer.hold(-rows);
        writer.chunkSettled();
      }
    });
  }
}
