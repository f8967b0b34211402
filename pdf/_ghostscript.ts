/**
 * Running Ghostscript (`gs`), which PDF/X output uses for the colour
 * science it does well: sampling a colour transform through the ICC
 * profiles with LittleCMS, and converting JPEG images to CMYK.
 *
 * @module
 */
import { PressrunError } from "../common/errors.ts";

/** The default Ghostscript executable, found on the PATH. */
export const GHOSTSCRIPT = "gs";

/** What to say when Ghostscript is not there. */
export function ghostscriptMissing(command: string, cause?: unknown): Error {
  return new PressrunError(
    `Cannot write PDF/X: Ghostscript (${command}) is not installed; run ./setup.sh (or apt-get install ghostscript)`,
    { cause },
  );
}

/**
 * Runs Ghostscript in batch mode, SAFER, quiet, with `args`; resolves when
 * it exits 0. Aborting `signal` kills it and rejects with the reason.
 *
 * @throws {PressrunError} If Ghostscript is missing or fails (its last
 * message is in the error).
 */
export async function runGhostscript(
  command: string,
  args: string[],
  signal?: AbortSignal,
): Promise<void> {
  signal?.throwIfAborted();
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, {
      args: ["-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal,
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw ghostscriptMissing(command, error);
    }
    throw error;
  }
  signal?.throwIfAborted();
  if (!output.success) {
    const said = new TextDecoder().decode(output.stderr).trim() ||
      new TextDecoder().decode(output.stdout).trim();
    throw new PressrunError(
      `Ghostscript failed (exit ${output.code}): ${
        said.split("\n").slice(-3).join(" ")
      }`,
    );
  }
}
