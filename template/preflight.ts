/**
 * Preflight: every field a template uses must be a column of the data, checked
 * before anything renders.
 *
 * @module
 */
import {
  InputError,
  type InputLocation,
  UsageError,
} from "../common/errors.ts";
import type { Template } from "./parse.ts";

/**
 * The data lacks columns the template needs. `missing` lists them all; the
 * location names the data and the first missing field.
 */
export class MissingFieldsError extends InputError {
  override name = "MissingFieldsError";
  /** Field names with no column, in the template's order. */
  readonly missing: string[];
  constructor(
    message: string,
    missing: string[],
    options?: ErrorOptions & { location?: InputLocation },
  ) {
    super(message, {
      ...options,
      location: options?.location ?? { field: missing[0] },
    });
    this.missing = missing;
  }
}

/**
 * Throws {@linkcode MissingFieldsError} naming every field of `template` that
 * is not among `headers`; `dataSource` names the data in the message.
 */
export function preflight(
  template: Pick<Template, "fields" | "source">,
  headers: readonly string[],
  dataSource: string,
): void {
  const have = new Set(headers);
  const missing = template.fields.filter((field) => !have.has(field));
  if (missing.length === 0) return;
  const list = missing.map((f) => `"${f}"`).join(", ");
  const s = missing.length === 1 ? "" : "s";
  throw new MissingFieldsError(
    `Cannot render ${template.source} with ${dataSource}: missing column${s} ${list} ` +
      `(the data has ${
        headers.map((h) => `"${h}"`).join(", ") || "no columns"
      })`,
    missing,
    { location: { source: dataSource, field: missing[0] } },
  );
}

/**
 * Throws a {@linkcode UsageError} when a column named to keep in each
 * record's document part (PDF/VT metadata: the CLI's `--record-key`, the
 * API's `recordKey`, named by `option`) is not among `headers`.
 */
export function preflightRecordKeys(
  keys: readonly string[],
  headers: readonly string[],
  dataSource: string,
  option: string,
): void {
  const unknown = keys.filter((key) => !headers.includes(key));
  if (unknown.length === 0) return;
  throw new UsageError(
    `${option} ${unknown.map((k) => `"${k}"`).join(", ")} ${
      unknown.length === 1 ? "is not a column" : "are not columns"
    } of ${dataSource}: its columns are ${headers.join(", ")}`,
    { location: { source: dataSource, field: option } },
  );
}
