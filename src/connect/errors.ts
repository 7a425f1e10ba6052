/** What went wrong, as the guide's `ConnectorError` variants. */
export type ConnectorErrorKind = 'UnknownStep' | 'Custom' | 'Configuration' | 'AuthFailed' | 'Api' | 'Validation';

export interface ConnectorErrorDetails {
  /** The step the error is about, when known. */
  readonly stepId?: string;
  /** The field of an emitted record or of a configuration the error is about. */
  readonly field?: string;
  /** HTTP status of an `Api` error. */
  readonly status?: number;
  /** Endpoint (URL or path) of an `Api` error. */
  readonly endpoint?: string;
  /** How long the API said to wait before asking again (`Retry-After`, a rate-limit reset), in ms. */
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

/**
 * The error type connectors throw and the runtime reports. It is a real
 * `Error`, so it keeps a stack and works with `instanceof` in every runtime.
 *
 * @example
 * default: throw ConnectorError.unknownStep(stepId);
 * if (!token) throw ConnectorError.configuration('API token is empty');
 */
export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  readonly kind: ConnectorErrorKind;
  readonly stepId: string | undefined;
  readonly field: string | undefined;
  readonly status: number | undefined;
  readonly endpoint: string | undefined;
  /** See {@link ConnectorErrorDetails.retryAfterMs}: a durable engine waits this long before the step's next attempt. */
  readonly retryAfterMs: number | undefined;

  constructor(kind: ConnectorErrorKind, message: string, details: ConnectorErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.stepId = details.stepId;
    this.field = details.field;
    this.status = details.status;
    this.endpoint = details.endpoint;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** For unrecognized step ids: every `executeStep` switch should end with it. */
  static unknownStep(stepId: string): ConnectorError {
    return new ConnectorError('UnknownStep', `unknown step "${stepId}"`, { stepId });
  }

  static custom(message: string, cause?: unknown): ConnectorError {
    return new ConnectorError('Custom', message, { cause });
  }

  static configuration(message: string, field?: string): ConnectorError {
    return new ConnectorError('Configuration', message, { field });
  }

  static authFailed(message: string, endpoint?: string): ConnectorError {
    return new ConnectorError('AuthFailed', message, { endpoint });
  }

  /** An API answered with a bad status or a body that could not be used. */
  static api(status: number, endpoint: string, message?: string, cause?: unknown): ConnectorError {
    return new ConnectorError('Api', message ?? `API error ${status} from ${endpoint}`, { status, endpoint, cause });
  }

  static validation(message: string, field?: string, stepId?: string): ConnectorError {
    return new ConnectorError('Validation', message, { field, stepId });
  }

  /** A plain object for logs and JSON responses; never includes the stack. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { kind: this.kind, message: this.message };
    if (this.stepId !== undefined) out.stepId = this.stepId;
    if (this.field !== undefined) out.field = this.field;
    if (this.status !== undefined) out.status = this.status;
    if (this.endpoint !== undefined) out.endpoint = this.endpoint;
    if (this.retryAfterMs !== undefined) out.retryAfterMs = this.retryAfterMs;
    return out;
  }
}

/** Turns anything a step threw into a ConnectorError, keeping the original as cause. */
export function asConnectorError(error: unknown, stepId?: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectorError('Custom', message, { stepId, cause: error });
}
