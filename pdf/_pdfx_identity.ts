/**
 * Making a CMYK PDF a PDF/X-4 file without rewriting it: the OutputIntent
 * (the profile), the XMP metadata, a new Info and the catalog naming them
 * are appended as an incremental update (ISO 32000-1, 7.5.6), with a
 * trailer carrying the document ID. Only the end of the file is read: its
 * trailer, cross-reference table and catalog. So a piece split from a
 * converted chunk becomes PDF/X in a fraction of a millisecond, and a
 * merged.pdf of any size without being read again.
 *
 * Only files with classic cross-reference tables are handled (all pressrun
 * writes); {@linkcode IdentityError} says when not, and the caller converts
 * the file whole instead.
 *
 * @module
 */
import { PDFHexString } from "pdf-lib";
import {
  ascii,
  pdfDate,
  PDFX_VERSION,
  type PdfXMeta,
  PRODUCER,
  xmpPacket,
} from "./_pdfx_write.ts";

/** Why the identity cannot be appended; the caller converts the file whole. */
export class IdentityError extends Error {
  override name = "IdentityError";
}

/** Random access to a PDF's bytes. */
export interface Reader {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A reader over bytes in memory. */
export function bytesReader(bytes: Uint8Array): Reader {
  return {
    size: bytes.length,
    read: (offset, length) =>
      Promise.resolve(bytes.subarray(offset, offset + length)),
  };
}

/** A reader over an open file. */
export async function fileReader(file: Deno.FsFile): Promise<Reader> {
  const { size } = await file.stat();
  return {
    size,
    async read(offset, length) {
      const buffer = new Uint8Array(
        Math.max(0, Math.min(length, size - offset)),
      );
      await file.seek(offset, Deno.SeekMode.Start);
      let at = 0;
      while (at < buffer.length) {
        const n = await file.read(buffer.subarray(at));
        if (n === null) break;
        at += n;
      }
      return buffer.subarray(0, at);
    },
  };
}

/** What the end of a PDF says: where its last xref is, and its catalog. */
export interface Tail {
  startxref: number;
  size: number;
  root: { number: number; generation: number; dict: string };
  /** The Info /Title, decoded, if any. */
  title?: string;
  /** The catalog has a DPartRoot: the records are PDF/VT document parts. */
  dparts: boolean;
}

const latin1 = new TextDecoder("latin1");

/**
 * Reads the trailer, cross-reference table(s) and catalog at the end of a
 * PDF.
 *
 * @throws {IdentityError} If the file has a cross-reference stream, is
 * encrypted, or its end cannot be read.
 */
export async function readTail(reader: Reader): Promise<Tail> {
  const end = latin1.decode(
    await reader.read(Math.max(0, reader.size - 1024), 1024),
  );
  const at = end.lastIndexOf("startxref");
  const startxref = Number(/startxref\s+(\d+)/.exec(end.slice(at))?.[1]);
  if (at < 0 || !Number.isInteger(startxref)) {
    throw new IdentityError("no startxref at the end of the file");
  }
  const sections = new Map<number, number>();
  let trailer: string | undefined;
  // Newest section first; an older one never overrides a newer entry.
  for (
    let offset: number | undefined = startxref, hops = 0;
    offset !== undefined;
    hops++
  ) {
    if (hops > 64) throw new IdentityError("too many cross-reference sections");
    // Read on until the trailer's end: a table is 20 bytes an object.
    let text = "";
    for (let length = 64 * 1024;; length *= 4) {
      text = latin1.decode(await reader.read(offset, length));
      if (!text.startsWith("xref")) {
        throw new IdentityError("the file has a cross-reference stream");
      }
      const trailerAt = text.indexOf("trailer");
      if (trailerAt >= 0 && text.indexOf("startxref", trailerAt) >= 0) break;
      if (offset + length >= reader.size) throw new IdentityError("no trailer");
    }
    const trailerAt = text.indexOf("trailer");
    const lines = text.slice(4, trailerAt).split(/\r\n|\r|\n/).map((l) =>
      l.trim()
    ).filter((l) => l !== "");
    for (let i = 0; i < lines.length;) {
      const [first, count] = lines[i]!.split(/\s+/).map(Number);
      if (!Number.isInteger(first) || !Number.isInteger(count)) {
        throw new IdentityError("a malformed cross-reference table");
      }
      for (let k = 0; k < count!; k++) {
        const entry = lines[i + 1 + k]?.split(/\s+/);
        if (entry?.[2] === "n" && !sections.has(first! + k)) {
          sections.set(first! + k, Number(entry[0]));
        }
      }
      i += 1 + count!;
    }
    const dict = text.slice(
      trailerAt + 7,
      text.indexOf("startxref", trailerAt),
    );
    trailer ??= dict;
    const prev = /\/Prev\s+(\d+)/.exec(dict);
    offset = prev ? Number(prev[1]) : undefined;
  }
  if (trailer === undefined) throw new IdentityError("no trailer");
  if (/\/Encrypt\b/.test(trailer)) {
    throw new IdentityError("the file is encrypted");
  }
  const size = Number(/\/Size\s+(\d+)/.exec(trailer)?.[1]);
  const rootRef = /\/Root\s+(\d+)\s+(\d+)\s+R/.exec(trailer);
  if (!Number.isInteger(size) || !rootRef) {
    throw new IdentityError("the trailer has no /Size or /Root");
  }
  const object = async (number: number) => {
    const offset = sections.get(number);
    if (offset === undefined) return undefined;
    const text = latin1.decode(await reader.read(offset, 64 * 1024));
    const match = /^\s*(\d+)\s+(\d+)\s+obj\s*(<<[\s\S]*?>>)\s*endobj/.exec(
      text,
    );
    if (!match || Number(match[1]) !== number) return undefined;
    return { generation: Number(match[2]), dict: match[3]! };
  };
  const root = await object(Number(rootRef[1]));
  if (!root) throw new IdentityError("the catalog cannot be read");
  const infoRef = /\/Info\s+(\d+)\s+\d+\s+R/.exec(trailer);
  const info = infoRef ? await object(Number(infoRef[1])) : undefined;
  const title = info ? titleOf(info.dict) : undefined;
  return {
    startxref,
    size,
    root: { number: Number(rootRef[1]), ...root },
    title,
    dparts: /\/DPartRoot\b/.test(root.dict),
  };
}

/** The /Title of an Info dictionary's text, decoded. */
function titleOf(dict: string): string | undefined {
  const hex = /\/Title\s*<([0-9A-Fa-f\s]*)>/.exec(dict);
  let bytes: number[];
  if (hex) {
    const digits = hex[1]!.replace(/\s/g, "");
    bytes = [];
    for (let i = 0; i < digits.length; i += 2) {
      bytes.push(parseInt(digits.slice(i, i + 2).padEnd(2, "0"), 16));
    }
  } else {
    const literal =
      /\/Title\s*\(((?:[^()\\]|\\[\s\S]|\((?:[^()\\]|\\[\s\S])*\))*)\)/
        .exec(dict);
    if (!literal) return undefined;
    bytes = [];
    const text = literal[1]!;
    const escapes: Record<string, number> = {
      n: 10,
      r: 13,
      t: 9,
      b: 8,
      f: 12,
    };
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c !== "\\") {
        bytes.push(c.charCodeAt(0) & 0xff);
        continue;
      }
      const next = text[++i] ?? "";
      const octal = /^[0-7]{1,3}/.exec(text.slice(i))?.[0];
      if (octal) {
        bytes.push(parseInt(octal, 8) & 0xff);
        i += octal.length - 1;
      } else if (next in escapes) bytes.push(escapes[next]!);
      else if (next !== "\n" && next !== "\r") bytes.push(next.charCodeAt(0));
    }
  }
  const array = new Uint8Array(bytes);
  return array[0] === 0xfe && array[1] === 0xff
    ? new TextDecoder("utf-16be").decode(array.subarray(2))
    : latin1.decode(array);
}

/**
 * The incremental update that makes the file PDF/X-4: profile, intent,
 * XMP, Info (new objects), the catalog (same number, with the intent and
 * the metadata), a cross-reference section and a trailer with /Prev and
 * /ID. `base` is the file's size: the section starts there.
 */
export function identitySection(
  tail: Tail,
  base: number,
  meta: PdfXMeta,
): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const offsets = new Map<number, number>();
  let size = base;
  const add = (part: string | Uint8Array) => {
    const bytes = typeof part === "string" ? encoder.encode(part) : part;
    parts.push(bytes);
    size += bytes.length;
  };
  const profile = tail.size,
    intent = profile + 1,
    metadata = profile + 2,
    info = profile + 3;
  add("\n");
  offsets.set(profile, size);
  add(
    `${profile} 0 obj\n<</N 4/Filter/FlateDecode/Length ${meta.profile.length}>>\nstream\n`,
  );
  add(meta.profile);
  add("\nendstream\nendobj\n");
  offsets.set(intent, size);
  add(
    `${intent} 0 obj\n<</Type/OutputIntent/S/GTS_PDFX/OutputConditionIdentifier(${
      ascii(meta.conditionIdentifier).replace(/[()\\]/g, "\\$&")
    })/OutputCondition${PDFHexString.fromText(meta.condition).toString()}/Info${
      PDFHexString.fromText(meta.condition).toString()
    }/RegistryName(http://www.color.org)/DestOutputProfile ${profile} 0 R>>\nendobj\n`,
  );
  const xmp = encoder.encode(xmpPacket(meta));
  offsets.set(metadata, size);
  add(
    `${metadata} 0 obj\n<</Type/Metadata/Subtype/XML/Length ${xmp.length}>>\nstream\n`,
  );
  add(xmp);
  add("\nendstream\nendobj\n");
  const date = pdfDate(meta.date);
  const producer = PDFHexString.fromText(PRODUCER).toString();
  offsets.set(info, size);
  add(
    `${info} 0 obj\n<</Title${
      PDFHexString.fromText(meta.title).toString()
    }/Producer${producer}/Creator${producer}/CreationDate(${date})/ModDate(${date})/Trapped/False/GTS_PDFXVersion(${PDFX_VERSION})>>\nendobj\n`,
  );
  const catalog = tail.root.dict
    .replace(/\/OutputIntents\s*\[[^\]]*\]/g, "")
    .replace(/\/OutputIntents\s+\d+\s+\d+\s+R/g, "")
    .replace(/\/Metadata\s+\d+\s+\d+\s+R/g, "")
    .replace(/\/Version\s*\/\d\.\d/g, "")
    .replace(
      />>\s*$/,
      `/OutputIntents[${intent} 0 R]/Metadata ${metadata} 0 R>>`,
    );
  offsets.set(tail.root.number, size);
  add(`${tail.root.number} ${tail.root.generation} obj\n${catalog}\nendobj\n`);
  const xref = size;
  const sorted = [...offsets].sort((a, b) => a[0] - b[0]);
  const lines = ["xref\n"];
  for (let i = 0; i < sorted.length;) {
    let j = i + 1;
    while (j < sorted.length && sorted[j]![0] === sorted[j - 1]![0] + 1) j++;
    lines.push(`${sorted[i]![0]} ${j - i}\n`);
    for (let k = i; k < j; k++) {
      const generation = sorted[k]![0] === tail.root.number
        ? tail.root.generation
        : 0;
      lines.push(
        `${String(sorted[k]![1]).padStart(10, "0")} ${
          String(generation).padStart(5, "0")
        } n \n`,
      );
    }
    i = j;
  }
  add(lines.join(""));
  add(
    `trailer\n<</Size ${
      info + 1
    }/Root ${tail.root.number} ${tail.root.generation} R/Info ${info} 0 R/ID[<${meta.id}><${meta.id}>]/Prev ${tail.startxref}>>\nstartxref\n${xref}\n%%EOF\n`,
  );
  const out = new Uint8Array(size - base);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
