/**
 * The imposed PDF, written sheet side by sheet side: each piece's page
 * becomes a Form XObject (its content stream, data as is, with its
 * resources), and a sheet's page draws the forms it holds. Bytes are handed
 * out as they are made, so a sheet's pieces are all that is in memory.
 *
 * An object whose bytes (once its references are renumbered) equal those of
 * one already written is not written again: the font subsets and background
 * image that pieces of one chunk share are stored once, as in the merged
 * PDF. Objects of one source file are also remembered by number, so a
 * merged PDF's shared objects are read and compared only once.
 *
 * @module
 */
import {
  decodePDFRawStream,
  PDFArray,
  PDFDict,
  PDFName,
  type PDFObject,
  PDFRawStream,
  PDFRef,
} from "pdf-lib";
import { createHash } from "node:crypto";
import { deflateSync } from "node:zlib";
import { InputError } from "../common/errors.ts";
import { refsIn } from "./_chunk_source.ts";
import { infoDict, PdfWriter } from "./_pdf_objects.ts";
import type { Box, PdfReader, ReaderPage } from "./_pdf_reader.ts";
import { num, REGISTRATION_SPACE, SLUG_FONT } from "./_marks_draw.ts";

/** Pages under one intermediate node of the page tree. */
const PAGES_PER_NODE = 100;
const CONTENTS = PDFName.of("Contents");
const GROUP = PDFName.of("Group");
const FILTER = PDFName.of("Filter");
const DECODE_PARMS = PDFName.of("DecodeParms");

/** Object numbers of the shared objects every sheet's page uses. */
export const SHEET_RESOURCES = {
  colour: { name: "Reg", number: 4 },
  font: { name: "Slug", number: 5 },
} as const;

/** Options for {@linkcode SheetPdf.form}. */
export interface FormOptions {
  /**
   * Write the form once and hand its number out again on later calls for
   * the same page (a back used for every record).
   * @default {false}
   */
  keep?: boolean;
  /**
   * Before parsing an object, compare its bytes (and its children's) with
   * those of objects written before: worth it for one-page files read once
   * each (the pieces of one chunk carry the same font subsets), not for one
   * file read throughout (its objects are known by number).
   * @default {false}
   */
  matchBytes?: boolean;
}

/** One side of a sheet: its size, content and the forms it draws. */
export interface SheetSide {
  widthPt: number;
  heightPt: number;
  /** Content stream operators. */
  content: string;
  /** Resource name → form object number. */
  forms: Map<string, number>;
}

/** The imposed PDF being written (see the module doc). */
export class SheetPdf {
  #offsets: number[] = [0, 0, 0, 0, 0, 0];
  #next = 6;
  #written = 0;
  #out: PdfWriter;
  #nodes: { number: number; count: number }[] = [];
  #open: { number: number; kids: number[] } | undefined;
  #pages = 0;
  #digests = new Map<string, number>();
  /** Object number by the digest of an object's bytes in its file and its children's. */
  #subtrees = new Map<string, number>();
  /** Per source file: its objects' numbers here. */
  #numbers = new WeakMap<PdfReader, Map<PDFRef, number>>();
  /** Per source file: forms kept for reuse, by page index. */
  #forms = new WeakMap<PdfReader, Map<number, number>>();
  #version = "1.4";
  #title: string | undefined;

  constructor(title?: string) {
    this.#title = title;
    this.#out = new PdfWriter(0);
    this.#out.header("1.4");
    this.#out.object(SHEET_RESOURCES.colour.number, REGISTRATION_SPACE);
    this.#out.object(SHEET_RESOURCES.font.number, SLUG_FONT);
  }

  /** Sheet sides written so far. */
  get pageCount(): number {
    return this.#pages;
  }

  /**
   * Writes page `page` of `reader` as a Form XObject clipped to `bbox` (in
   * the page's own space) and returns its object number.
   *
   * @throws {InputError} If the page's content is not a stream, or streams
   * that cannot be decoded.
   */
  async form(
    reader: PdfReader,
    page: ReaderPage & { index: number },
    bbox: Box,
    options: FormOptions = {},
  ): Promise<number> {
    let kept = this.#forms.get(reader);
    const found = kept?.get(page.index);
    if (found !== undefined) return found;
    if (reader.version > this.#version) this.#version = reader.version;
    let numbers = this.#numbers.get(reader);
    if (!numbers) this.#numbers.set(reader, numbers = new Map());
    const streams = await this.#contents(reader, page);
    const group = page.dict.get(GROUP);
    const values: PDFObject[] = [];
    if (page.resources !== undefined) values.push(page.resources);
    if (group !== undefined) values.push(group);
    const [first] = streams;
    const raw = streams.length === 1 && first !== undefined;
    if (raw) {
      for (const key of [FILTER, DECODE_PARMS]) {
        const value = first.dict.get(key);
        if (value !== undefined) values.push(value);
      }
    }
    const { loaded, subtrees } = await this.#load(
      reader,
      values,
      numbers,
      options.matchBytes ?? false,
    );
    for (const value of values) {
      for (const ref of refsIn(value)) {
        this.#visit(ref, { loaded, subtrees }, numbers);
      }
    }
    const number = this.#next++;
    const out = this.#out;
    out.begin(number);
    out.text(
      `<</Type/XObject/Subtype/Form/FormType 1/BBox[${
        bbox.map(num).join(" ")
      }]`,
    );
    if (page.resources !== undefined) {
      out.text("/Resources");
      out.value(page.resources, numbers);
    }
    if (group !== undefined) {
      out.text("/Group");
      out.value(group, numbers);
    }
    let data: Uint8Array;
    if (raw) {
      for (const key of [FILTER, DECODE_PARMS]) {
        const value = first.dict.get(key);
        if (value === undefined) continue;
        out.text(key.asString());
        out.value(value, numbers);
      }
      data = first.getContents();
    } else {
      data = deflateSync(joinDecoded(streams, reader.name, page.index));
      out.text("/Filter/FlateDecode");
    }
    out.text(`/Length ${data.length}>>\nstream\n`);
    out.binary(data);
    out.text("\nendstream");
    out.finish();
    if (options.keep) {
      if (!kept) this.#forms.set(reader, kept = new Map());
      kept.set(page.index, number);
    }
    return number;
  }

  /** Writes one sheet side as the next page. */
  side(side: SheetSide): void {
    const out = this.#out;
    const content = this.#next++;
    out.object(
      content,
      `<</Length ${side.content.length}>>\nstream\n${side.content}\nendstream`,
    );
    this.#open ??= { number: this.#next++, kids: [] };
    const page = this.#next++;
    const box = `[0 0 ${num(side.widthPt)} ${num(side.heightPt)}]`;
    const forms = [...side.forms].map(([name, n]) => `/${name} ${n} 0 R`)
      .join("");
    const { colour, font } = SHEET_RESOURCES;
    out.object(
      page,
      `<</Type/Page/Parent ${this.#open.number} 0 R/MediaBox${box}/BleedBox${box}/TrimBox${box}/Resources<</XObject<<${forms}>>/ColorSpace<</${colour.name} ${colour.number} 0 R>>/Font<</${font.name} ${font.number} 0 R>>/ProcSet[/PDF/Text]>>/Contents ${content} 0 R>>`,
    );
    this.#open.kids.push(page);
    this.#pages++;
    if (this.#open.kids.length >= PAGES_PER_NODE) this.#closeNode();
  }

  /** The bytes written since the last call. */
  take(): Uint8Array {
    const bytes = this.#out.bytes();
    for (const [number, offset] of this.#out.offsets) {
      this.#offsets[number] = offset;
    }
    this.#written += bytes.length;
    this.#out = new PdfWriter(this.#written);
    return bytes;
  }

  /**
   * The last bytes: page tree, catalog, info, cross-reference table.
   *
   * @throws {Error} If no side was written.
   */
  end(): Uint8Array {
    if (this.#pages === 0) {
      throw new Error("Cannot end the imposed PDF: no sheet was written");
    }
    this.#digests.clear();
    this.#subtrees.clear();
    this.#closeNode();
    const out = this.#out;
    const kids = this.#nodes.map((n) => `${n.number} 0 R`).join(" ");
    const version = this.#version > "1.4" ? `/Version/${this.#version}` : "";
    out.object(1, `<</Type/Catalog/Pages 2 0 R${version}>>`);
    out.object(2, `<</Type/Pages/Kids[${kids}]/Count ${this.#pages}>>`);
    out.object(3, infoDict(this.#title));
    for (const [number, offset] of out.offsets) this.#offsets[number] = offset;
    out.xref(this.#offsets, 1, 3);
    return this.take();
  }

  #closeNode(): void {
    const node = this.#open;
    if (!node) return;
    this.#open = undefined;
    const kids = node.kids.map((n) => `${n} 0 R`).join(" ");
    this.#out.object(
      node.number,
      `<</Type/Pages/Parent 2 0 R/Kids[${kids}]/Count ${node.kids.length}>>`,
    );
    this.#nodes.push({ number: node.number, count: node.kids.length });
  }

  /** The page's content streams, in order. */
  async #contents(
    reader: PdfReader,
    page: ReaderPage & { index: number },
  ): Promise<PDFRawStream[]> {
    const contents = await reader.resolve(page.dict.get(CONTENTS));
    const items = contents instanceof PDFArray
      ? contents.asArray()
      : [contents];
    const streams: PDFRawStream[] = [];
    for (const item of items) {
      const stream = await reader.resolve(item);
      if (stream instanceof PDFRawStream) streams.push(stream);
      else if (stream !== undefined) {
        throw new InputError(
          `Cannot impose ${reader.name} page ${
            page.index + 1
          }: its content is not a stream`,
          { location: { source: reader.name } },
        );
      }
    }
    return streams;
  }

  /**
   * Reads the objects `values` reach that are not written yet. An object
   * whose bytes, and its children's, equal those of one written before (a
   * font subset every piece of a chunk carries) is not even parsed: it takes
   * that one's number.
   */
  async #load(
    reader: PdfReader,
    values: PDFObject[],
    numbers: Map<PDFRef, number>,
    matchBytes: boolean,
  ): Promise<Loaded> {
    const loaded = new Map<PDFRef, PDFObject | undefined>();
    const subtrees = new Map<PDFRef, string | null>();
    const stack: PDFObject[] = [...values];
    while (stack.length > 0) {
      const value = stack.pop()!;
      if (value instanceof PDFRef) {
        if (
          numbers.has(value) || loaded.has(value) || reader.isPageTree(value)
        ) continue;
        const subtree = matchBytes
          ? await this.#subtree(reader, value, subtrees, new Set())
          : null;
        const written = subtree === null
          ? undefined
          : this.#subtrees.get(subtree);
        if (written !== undefined) {
          numbers.set(value, written);
          continue;
        }
        const object = await reader.lookup(value);
        loaded.set(value, object);
        if (object !== undefined) stack.push(object);
      } else if (value instanceof PDFDict) {
        for (const [, v] of value.entries()) stack.push(v);
      } else if (value instanceof PDFArray) {
        stack.push(...value.asArray());
      } else if (value instanceof PDFRawStream) {
        stack.push(value.dict);
      }
    }
    return { loaded, subtrees };
  }

  /**
   * A digest of an object's bytes as they stand and its children's digests:
   * equal digests, equal objects once renumbered. Null when it cannot be
   * told cheaply (objects served from memory, a cycle).
   */
  async #subtree(
    reader: PdfReader,
    ref: PDFRef,
    memo: Map<PDFRef, string | null>,
    visiting: Set<PDFRef>,
  ): Promise<string | null> {
    const seen = memo.get(ref);
    if (seen !== undefined) return seen;
    if (visiting.has(ref)) return null;
    visiting.add(ref);
    const look = await reader.look(ref);
    let digest: string | null = null;
    if (look) {
      const hash = createHash("sha256").update(look.bytes);
      digest = "";
      for (const child of look.refs) {
        const d = await this.#subtree(reader, child, memo, visiting);
        if (d === null) {
          digest = null;
          break;
        }
        hash.update(d);
      }
      if (digest !== null) digest = hash.digest("base64");
    }
    visiting.delete(ref);
    memo.set(ref, digest);
    return digest;
  }

  /** Writes `ref` and what it refers to (children first), stored once. */
  #visit(
    ref: PDFRef,
    { loaded, subtrees }: Loaded,
    numbers: Map<PDFRef, number>,
    visiting = new Set<PDFRef>(),
    cyclic = new Set<PDFRef>(),
  ): void {
    if (numbers.has(ref) || !loaded.has(ref)) return;
    if (visiting.has(ref)) {
      // A cycle: this object keeps a number of its own, not shared.
      numbers.set(ref, this.#next++);
      cyclic.add(ref);
      return;
    }
    const object = loaded.get(ref);
    visiting.add(ref);
    if (object !== undefined) {
      for (const child of refsIn(object)) {
        this.#visit(child, { loaded, subtrees }, numbers, visiting, cyclic);
      }
    }
    visiting.delete(ref);
    const body = new PdfWriter(0);
    if (object === undefined) body.text("null");
    else body.value(object, numbers);
    const bytes = body.bytes();
    if (cyclic.has(ref)) {
      this.#out.body(numbers.get(ref)!, bytes);
      return;
    }
    const digest = createHash("sha256").update(bytes).digest("base64");
    let number = this.#digests.get(digest);
    if (number === undefined) {
      number = this.#next++;
      this.#digests.set(digest, number);
      this.#out.body(number, bytes);
    }
    numbers.set(ref, number);
    const subtree = subtrees.get(ref);
    if (subtree) this.#subtrees.set(subtree, number);
  }
}

/** Objects read for a form, and their subtree digests. */
interface Loaded {
  loaded: Map<PDFRef, PDFObject | undefined>;
  subtrees: Map<PDFRef, string | null>;
}

/** The decoded data of several content streams, one after the other. */
function joinDecoded(
  streams: PDFRawStream[],
  name: string,
  index: number,
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const stream of streams) {
    try {
      parts.push(decodePDFRawStream(stream).decode(), new Uint8Array([10]));
    } catch (error) {
      throw new InputError(
        `Cannot impose ${name} page ${
          index + 1
        }: its content stream cannot be decoded (${(error as Error).message})`,
        { cause: error, location: { source: name } },
      );
    }
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
