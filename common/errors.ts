/**
 * The error taxonomy: one base class and the few subclasses callers branch
 * on. The CLI's exit code 2 and the server's 4xx both come from one
 * `instanceof InputError`; anything else that is not a {@linkcode PressrunError}
 * (a `TypeError` from a bug, say) stays a bug: exit 1, HTTP 500.
 *
 * Messages follow std's style: sentence case, no trailing period, naming the
 * file, the line or record, and the field — "Cannot read recipients.csv line
 * 3: record 2 has 2 fields, expected 3".
 *
 * @module
 */

/** Where in the user's input an error lies; every part optional. */
export interface InputLocation {
  /** The file (or upload) the input came from, as the user named it. */
  source?: string;
  /** 1-based line of a text file. */
  line?: number;
  /** 1-based record number of the spreadsheet. */
  record?: number;
  /** The template field, spreadsheet column or option at fault. */
  field?: string;
}

/** The base of every error pressrun throws on purpose. */
export class PressrunError extends Error {
  override name = "PressrunError";
}

/**
 * The user's input is wrong: a template, a spreadsheet, an option. Exit 2 on
 * the command line, a 4xx over HTTP (422 unless a subclass says otherwise).
 */
export class InputError extends PressrunError {
  override name = "InputError";
  /** Where the fault lies, for callers that point at it. */
  readonly location: InputLocation;
  constructor(
    message: string,
    options?: ErrorOptions & { location?: InputLocation },
  ) {
    super(message, options);
    this.location = options?.location ?? {};
  }
}

/** Bad command-line usage or API option. */
export class UsageError extends InputError {
  override name = "UsageError";
}

/** A template that cannot be read, or breaks the template format. */
export class TemplateError extends InputError {
  override name = "TemplateError";
}

/** A spreadsheet (CSV) that cannot be read, or is over a limit. */
export class DataError extends InputError {
  override name = "DataError";
}

/** Something asked for by name or id does not exist. HTTP 404. */
export class NotFoundError extends InputError {
  override name = "NotFoundError";
}

/** An action that is not allowed on this thing (deleting a built-in). HTTP 403. */
export class ForbiddenError extends InputError {
  override name = "ForbiddenError";
}

/** An action that does not fit the thing's state (retrying a running batch). HTTP 409. */
export class ConflictError extends InputError {
  override name = "ConflictError";
}

/** A deadline passed: a piece took too long, no page came free. */
export class TimeoutError extends PressrunError {
  override name = "TimeoutError";
}

/** A bounded queue is full; try again later. HTTP 429 with Retry-After. */
export class QueueFullError extends PressrunError {
  override name = "QueueFullError";
  /** Seconds after which a retry may succeed. */
  readonly retryAfter: number;
  constructor(message: string, retryAfter: number, options?: ErrorOptions) {
    super(message, options);
    this.retryAfter = retryAfter;
  }
}

/**
 * The disk under a folder pressrun writes to is full (ENOSPC, or Deno KV's
 * "database or disk is full"). Not the user's input: exit 1 on the command
 * line; HTTP 507. The message names the folder and its free bytes.
 */
export class DiskFullError extends PressrunError {
  override name = "DiskFullError";
  /** The folder that could not be written. */
  readonly folder: string;
  /** Bytes free there when it was noticed, when known. */
  readonly freeBytes?: number;
  constructor(
    message: string,
    options: ErrorOptions & { folder: string; freeBytes?: number },
  ) {
    super(message, options);
    this.folder = options.folder;
    this.freeBytes = options.freeBytes;
  }
}

/**
 * A worker's lease on a running batch is gone: another worker took the batch
 * over (this one was silent too long), or the batch ended. The worker stops
 * rendering it and writes nothing more for it.
 */
export class LeaseLostError extends PressrunError {
  override name = "LeaseLostError";
}
