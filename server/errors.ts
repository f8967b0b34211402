/**
 * HTTP errors and the one place that turns any error into a JSON response.
 *
 * @module
 */
import {
  ConflictError,
  DiskFullError,
  ForbiddenError,
  InputError,
  NotFoundError,
  PressrunError,
  QueueFullError,
  TimeoutError,
} from "../common/errors.ts";
import { MissingFieldsError } from "../template/preflight.ts";
import type { Logger } from "../render/log.ts";

/**
 * An HTTP-only error with its own status: a missing token (401), a body that
 * is not a form or not JSON (400), an upload too large (413), no such route
 * (404, 405). The user's input errors come from the taxonomy instead.
 */
export class HttpError extends PressrunError {
  override name = "HttpError";
  readonly status: number;
  /** Short machine-readable kind, e.g. "unauthorized". */
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    code: string,
    message: string,
    options?: ErrorOptions & { headers?: Record<string, string> },
  ) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.headers = options?.headers ?? {};
  }
}

/** How an error answers over HTTP. */
export interface ErrorStatus {
  status: number;
  /** Short machine-readable kind, e.g. "not_found". */
  code: string;
  headers?: Record<string, string>;
}

/**
 * The status of an error, by its class in the taxonomy: the user's input is a
 * 4xx (422 unless it says more), a full queue 429 with Retry-After, a
 * deadline 504, a full disk 507; anything else — a bug's TypeError too — is
 * a 500.
 */
export function classify(error: unknown): ErrorStatus {
  if (error instanceof HttpError) return error;
  if (error instanceof QueueFullError) {
    return {
      status: 429,
      code: "busy",
      headers: { "retry-after": String(error.retryAfter) },
    };
  }
  if (error instanceof TimeoutError) return { status: 504, code: "timeout" };
  if (error instanceof DiskFullError) {
    return { status: 507, code: "insufficient_storage" };
  }
  if (error instanceof NotFoundError) return { status: 404, code: "not_found" };
  if (error instanceof ForbiddenError) {
    return { status: 403, code: "forbidden" };
  }
  if (error instanceof ConflictError) return { status: 409, code: "conflict" };
  if (error instanceof MissingFieldsError) {
    return { status: 422, code: "missing_columns" };
  }
  if (error instanceof InputError) {
    return { status: 422, code: "invalid_input" };
  }
  return { status: 500, code: "internal" };
}

/** The JSON body of every error response (the web app reads it too). */
export interface ErrorBody {
  /** The error's {@linkcode ErrorStatus} code, e.g. "not_found". */
  error: string;
  /** What went wrong, naming the file, line or field. */
  message: string;
  requestId: string;
}

/** The JSON error response; a 500 is logged with its request id. */
export function errorResponse(
  error: unknown,
  requestId: string,
  log: Logger,
): Response {
  const { status, code, headers } = classify(error);
  const message = status === 500
    ? `Internal error (request ${requestId})`
    : (error as Error).message;
  if (status === 500) {
    log(
      "error",
      `Request ${requestId} failed: ${(error as Error)?.stack ?? error}`,
      {
        requestId,
      },
    );
  }
  const body: ErrorBody = { error: code, message, requestId };
  return Response.json(body, {
    status,
    headers: { ...headers, "x-request-id": requestId },
  });
}
