/**
 * ICC profiles for PDF/X: reading the printer's output profile, checking
 * from its header that it is one (a CMYK printer profile of the size it
 * says), and finding Ghostscript's own CMYK profile when none is given.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { PressrunError, UsageError } from "../common/errors.ts";

/** A CMYK output profile, read and checked. */
export interface OutputProfile {
  /** Where it was read from. */
  path: string;
  /** The whole profile. */
  bytes: Uint8Array;
  /** Its description (the `desc` tag), e.g. "Coated FOGRA39 (ISO 12647-2:2004)". */
  description: string;
  /** ICC version, e.g. "2.1" or "4.2". */
  version: string;
  /** SHA-256 of the bytes, hex: the key of everything derived from it. */
  hash: string;
}

/**
 * Where Debian's and upstream Ghostscript keep the CMYK profile they use by
 * default (`default_cmyk.icc`), most likely first.
 */
const DEFAULT_PROFILE_PLACES = [
  "/usr/share/color/icc/ghostscript/default_cmyk.icc",
  "/usr/local/share/color/icc/ghostscript/default_cmyk.icc",
  "/usr/share/ghostscript/iccprofiles/default_cmyk.icc",
  "/usr/local/share/ghostscript/iccprofiles/default_cmyk.icc",
];

const HEADER_SIZE = 128;
const ascii = new TextDecoder("latin1");

/** The option a profile's errors name. */
const OPTION = "--icc";

/**
 * Reads `path` as the printer's output profile and checks its header: the
 * size field equals the file's size, the signature is `acsp`, the device
 * class is `prtr` (an output profile) and the colour space `CMYK`.
 *
 * @throws {UsageError} If the file cannot be read or is not a CMYK output
 * profile; the message names `--icc` and the file.
 */
export async function readOutputProfile(path: string): Promise<OutputProfile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a folder"
      : (error as Error).message;
    throw new UsageError(`Cannot read ${OPTION} ${path}: ${why}`, {
      cause: error,
      location: { field: OPTION, source: path },
    });
  }
  return checkOutputProfile(bytes, path);
}

/**
 * {@linkcode readOutputProfile} on bytes already read; `path` names them in
 * messages.
 *
 * @throws {UsageError} If the bytes are not a CMYK output profile.
 */
export function checkOutputProfile(
  bytes: Uint8Array,
  path: string,
): OutputProfile {
  const refuse = (why: string) =>
    new UsageError(
      `Cannot use ${OPTION} ${path}: ${why}; give the printer's CMYK output profile (an .icc file such as FOGRA39 or GRACoL)`,
      { location: { field: OPTION, source: path } },
    );
  if (bytes.length < HEADER_SIZE + 4) {
    throw refuse(`it is ${bytes.length} bytes, too short for an ICC profile`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ascii.decode(bytes.subarray(36, 40)) !== "acsp") {
    throw refuse("it is not an ICC profile (no 'acsp' signature at byte 36)");
  }
  const size = view.getUint32(0);
  if (size !== bytes.length) {
    throw refuse(
      `its header says ${size} bytes but the file has ${bytes.length} (cut short or padded)`,
    );
  }
  const deviceClass = ascii.decode(bytes.subarray(12, 16));
  const space = ascii.decode(bytes.subarray(16, 20)).trim();
  if (deviceClass !== "prtr") {
    const kind = CLASS_NAMES[deviceClass] ?? `a '${deviceClass}'`;
    throw refuse(
      `it is ${kind} profile for ${space}, not an output (printer, 'prtr') profile`,
    );
  }
  if (space !== "CMYK") {
    throw refuse(`it is a printer profile for ${space}, not for CMYK`);
  }
  const tags = view.getUint32(HEADER_SIZE);
  if (HEADER_SIZE + 4 + tags * 12 > bytes.length) {
    throw refuse(`its tag table (${tags} tags) runs past the end of the file`);
  }
  const major = bytes[8]!;
  const minor = bytes[9]! >> 4;
  return {
    path,
    bytes,
    description: description(bytes, view, tags) ?? path.replace(/^.*\//, ""),
    version: `${major}.${minor}`,
    hash: createHash("sha256").update(bytes).digest("hex"),
  };
}

const CLASS_NAMES: Record<string, string> = {
  mntr: "a display ('mntr')",
  scnr: "an input (scanner, 'scnr')",
  link: "a device link ('link')",
  spac: "a colour space ('spac')",
  abst: "an abstract ('abst')",
  nmcl: "a named colour ('nmcl')",
};

/** The profile's `desc` tag: v2 `desc` (ASCII) or v4 `mluc` (first record). */
function description(
  bytes: Uint8Array,
  view: DataView,
  tags: number,
): string | undefined {
  for (let i = 0; i < tags; i++) {
    const entry = HEADER_SIZE + 4 + i * 12;
    if (ascii.decode(bytes.subarray(entry, entry + 4)) !== "desc") continue;
    const offset = view.getUint32(entry + 4);
    const length = view.getUint32(entry + 8);
    if (offset + length > bytes.length || length < 12) return undefined;
    const type = ascii.decode(bytes.subarray(offset, offset + 4));
    if (type === "desc") {
      const count = view.getUint32(offset + 8);
      if (count < 1 || 12 + count > length) return undefined;
      return clean(
        ascii.decode(bytes.subarray(offset + 12, offset + 11 + count)),
      );
    }
    if (type === "mluc") {
      const records = view.getUint32(offset + 8);
      if (records < 1 || length < 28) return undefined;
      const size = view.getUint32(offset + 20);
      const start = view.getUint32(offset + 24);
      if (start + size > length) return undefined;
      return clean(
        new TextDecoder("utf-16be").decode(
          bytes.subarray(offset + start, offset + start + size),
        ),
      );
    }
  }
  return undefined;
}

function clean(text: string): string | undefined {
  // deno-lint-ignore no-control-regex
  const trimmed = text.replace(/[\u0000-\u001f]/g, "").trim();
  return trimmed === "" ? undefined : trimmed;
}

/**
 * Ghostscript's own CMYK profile, `default_cmyk.icc`, from where Debian (or
 * an upstream build) installs it.
 *
 * @throws {PressrunError} If none is installed: the message says to install
 * Ghostscript (./setup.sh) or give `--icc FILE`.
 */
export async function defaultOutputProfile(): Promise<OutputProfile> {
  for (const place of DEFAULT_PROFILE_PLACES) {
    try {
      return checkOutputProfile(await Deno.readFile(place), place);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
  }
  throw new PressrunError(
    `Cannot write PDF/X: Ghostscript's CMYK profile default_cmyk.icc is not installed (looked in ${
      DEFAULT_PROFILE_PLACES.join(", ")
    }); run ./setup.sh (or apt-get install ghostscript), or give the printer's profile with --icc FILE`,
  );
}
