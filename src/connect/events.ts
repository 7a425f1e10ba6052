import type { ConnectorError } from './errors.js';

/**
 * What a run reports as it goes, the guide's `SyncEvent`. Every event carries
 * the connector and sync it belongs to, so one listener can watch many runs.
 */
export type SyncEvent =
  | { readonly type: 'started'; readonly connectorId: string; readonly syncId: string; readonly steps: readonly string[] }
  | { readonly type: 'stepStarted'; readonly connectorId: string; readonly syncId: string; readonly stepId: string }
  | {
      readonly type: 'progress';
      readonly connectorId: string;
      readonly syncId: string;
      readonly stepId: string;
      readonly entities: number;
      readonly relationships: number;
    }
  | {
      readonly type: 'warning';
      readonly connectorId: string;
      readonly syncId: string;
      readonly stepId: string;
      readonly message: string;
      readonly field?: string;
    }
  | {
      readonly type: 'stepCompleted';
      readonly connectorId: string;
      readonly syncId: string;
      readonly stepId: string;
      readonly entities: number;
      readonly relationships: number;
      readonly rejected: number;
      readonly durationMs: number;
    }
  | {
      readonly type: 'stepFailed';
      readonly connectorId: string;
      readonly syncId: string;
      readonly stepId: string;
      readonly error: ConnectorError;
      readonly durationMs: number;
    }
  | {
      readonly type: 'completed';
      readonly connectorId: string;
      readonly syncId: string;
      readonly entities: number;
      readonly relationships: number;
      readonly failedSteps: readonly string[];
      readonly durationMs: number;
    };

export type SyncEventType = SyncEvent['type'];
export type SyncEventListener = (event: SyncEvent) => void;
