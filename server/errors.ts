/**
 * HTTP errors and the one place that turns any error into a JSON response.
 *
 * @module
 */
import { MissingFieldsError } from "../template/preflight.ts";
import { ForbiddenError, NotFoundError } from "../batch/store.ts";
import type { Logger } from "../render/log.ts";

/** An error with an HTTP status, for callers that branch on it. */
export class HttpError extends Error {
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

/** The status and code of an error, by its type. */
export function classify(error: unknown): { status: number; code: string } {
  if (error instanceof HttpError) return error;
  if (error instanceof NotFoundError) return { status: 404, code: "not_found" };
  if (error instanceof ForbiddenError) {
    return { status: 403, code: "forbidden" };
  }
  if (error instanceof MissingFieldsError) {
    return { status: 422, code: "missing_columns" };
  }
  if (
    error instanceof SyntaxError || error instanceof TypeError ||
    error instanceof RangeError
  ) return { status: 422, code: "invalid_input" };
  return { status: 500, code: "internal" };
}

/** The JSON error response; a 500 is logged with its request id. */
export function errorResponse(
  error: unknown,
  requestId: string,
  log: Logger,
): Response {
  const { status, code } = classify(error);
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
  const headers = error instanceof HttpError ? error.headers : {};
  return Response.json({ error: code, message, requestId }, {
    status,
    headers: { ...headers, "x-request-id": requestId },
  });
}
