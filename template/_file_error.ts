/**
 * Why a file could not be read, in words that name no path: Deno's own
 * messages carry the absolute path ("…: readfile '/srv/data/…'"), which a
 * server must not show its users.
 *
 * @module
 */

/** "file not found", "permission denied", … for an error of `Deno.*` file calls. */
export function fileErrorReason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "file not found";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a folder";
  if (error instanceof Deno.errors.NotADirectory) return "file not found";
  if (error instanceof Deno.errors.InvalidData) return "it is not UTF-8 text";
  return error instanceof Error ? error.name : "unknown error";
}
