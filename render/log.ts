/**
 * Logging: one function type, so the CLI, the server and tests decide where
 * lines go.
 *
 * @module
 */

/** How serious a log line is. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Receives log lines; `fields` carry ids such as the record or batch. */
export type Logger = (
  level: LogLevel,
  message: string,
  fields?: Record<string, unknown>,
) => void;

/** A logger that drops everything. */
export function silentLogger(): void {}
