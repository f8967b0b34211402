/**
 * Test helpers: independent readers for what pressrun writes (poppler for
 * PDFs, jsqr for QR codes) and process counting.
 *
 * @module
 */
import jsQRModule from "jsqr";
import { PNG } from "pngjs";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { readCsv } from "../batch/csv.ts";
import type { Page } from "puppeteer-core";
import type { EncodedImage } from "../pdf/writer.ts";
import type { PageApi } from "../render/page_api.ts";
import type { RenderedPiece } from "../render/render_page.ts";
import { AssetResolver } from "../template/assets.ts";
import { pageSpec } from "../template/page_spec.ts";
import { loadTemplate } from "../template/parse.ts";
import { type PiecePayload, piecePayload } from "../template/payload.ts";

// jsqr is CommonJS: its default import is the function itself.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

/** Runs a command; throws with its stderr when it fails. */
export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** `pdfinfo` of a PDF: page count and the first page's size in points. */
export async function pdfInfo(
  path: string,
): Promise<{ pages: number; width: number; height: number; trim: number[] }> {
  const text = await run("pdfinfo", ["-box", path]);
  const pages = Number(/^Pages:\s+(\d+)/m.exec(text)?.[1]);
  const size = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(text);
  const trim =
    /^TrimBox:\s+(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  return { pages, width: Number(size?.[1]), height: Number(size?.[2]), trim };
}

/** Rasterises every page of a PDF with pdftoppm; returns the PNG paths in page order. */
export async function pdfToPngs(
  path: string,
  dir: string,
  dpi = 150,
): Promise<string[]> {
  const prefix = join(dir, crypto.randomUUID());
  await run("pdftoppm", ["-r", String(dpi), "-png", path, prefix]);
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(prefix.slice(dir.length + 1))) {
      names.push(join(dir, entry.name));
    }
  }
  return names.sort();
}

/** Decoded RGBA pixels of a PNG file or bytes. */
export async function readPng(
  file: string | Uint8Array,
): Promise<{ width: number; height: number; data: Uint8Array }> {
  const bytes = typeof file === "string" ? await Deno.readFile(file) : file;
  const png = PNG.sync.read(Buffer.from(bytes));
  return {
    width: png.width,
    height: png.height,
    data: new Uint8Array(png.data),
  };
}

/** The text of the QR code in a PNG, or undefined when none decodes. */
export async function decodeQr(
  file: string | Uint8Array,
): Promise<string | undefined> {
  const { width, height, data } = await readPng(file);
  return jsQR(
    new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength),
    width,
    height,
  )?.data;
}

/**
 * Pids of live Chromium processes whose command line mentions `marker` (a
 * profile folder, or a temp folder it sits in), so tests running side by side
 * never count each other's browsers.
 */
export async function chromiumPids(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const comm = (await Deno.readTextFile(`/proc/${entry.name}/comm`)).trim();
      if (!/chrom/i.test(comm)) continue;
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const state = stat.slice(
        stat.lastIndexOf(")") + 2,
        stat.lastIndexOf(")") + 3,
      );
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (state !== "Z" && cmdline.includes(marker)) {
        pids.push(Number(entry.name));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** A temporary folder removed by `await using`. */
export async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "pressrun-test-" });
  return {
    path,
    [Symbol.asyncDispose]: () =>
      Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

/**
 * A page `setup` that gives every render page opened later the API `wrap`
 * makes of the page's own `globalThis.pressrun` (to make a record hang, say).
 * `wrap` runs in the page: it may use its arguments, nothing else.
 */
export function wrapPageApi<T>(
  wrap: (api: PageApi, arg: T) => PageApi,
  arg: T,
): (page: Page) => Promise<void> {
  // What puppeteer's evaluateOnNewDocument(fn, ...args) sends, with `wrap`
  // passed as source: a function argument cannot travel as JSON.
  const source = `(${installWrap})(${wrap}, ${JSON.stringify(arg)})`;
  return async (page: Page) => {
    await page.evaluateOnNewDocument(source);
  };
}

/** In the page: `globalThis.pressrun`, once set, reads as `wrap` made it. */
function installWrap<T>(
  wrap: (api: PageApi, arg: T) => PageApi,
  arg: T,
): void {
  let api: PageApi | undefined;
  Object.defineProperty(globalThis, "pressrun", {
    configurable: true,
    get: () => api,
    set(value: PageApi) {
      api = wrap(value, arg);
    },
  });
}

/** The bundled example template, used by the browser tests. */
export const EXAMPLE_TEMPLATE = "examples/postcard/template.json";
/** The shared fixtures. */
export const TRICKY_CSV = "tests/fixtures/recipients-tricky.csv";
export const TRICKY_BOM_CSV =
  "tests/fixtures/recipients-tricky-bom-semicolon.csv";
export const MALFORMED_CSV = "tests/fixtures/recipients-malformed.csv";
/** The tricky fixtures' header (the example's too), in order. */
export const TRICKY_COLUMNS: readonly string[] = [
  "id",
  "firstName",
  "lastName",
  "company",
  "street",
  "city",
  "state",
  "zip",
  "offer",
  "url",
  "photo",
];

/** The example's own recipients. */
export const EXAMPLE_CSV = "examples/postcard/recipients.csv";

/** The url column of a CSV in record order: what each piece's QR code must say. */
export async function csvUrls(csv: string): Promise<string[]> {
  const urls: string[] = [];
  for await (const r of readCsv(csv)) urls.push(r.values.url!);
  return urls;
}

/**
 * The example template ready for a render page, and the payloads of the first
 * `limit` records of `csv`.
 */
export async function examplePieces(csv = EXAMPLE_CSV, limit = Infinity) {
  const template = await loadTemplate(EXAMPLE_TEMPLATE);
  const assets = new AssetResolver(template.baseDir);
  const spec = await pageSpec(template, assets);
  const payloads: PiecePayload[] = [];
  for await (const record of readCsv(csv)) {
    if (payloads.length >= limit) break;
    payloads.push(await piecePayload(template, record, assets));
  }
  return { template, spec, payloads };
}

/** The image of a raster piece; throws for a vector piece. */
export function imageOf(piece: RenderedPiece): EncodedImage {
  if (piece.kind !== "raster") throw new Error("Expected a raster piece");
  return piece.image;
}

/** Runs the CLI the way a user does, as its own process. */
export async function cli(
  args: string[],
  env: Record<string, string> = {},
  permissions = ["-A"],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, "cli.ts", ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: out.code,
    stdout: decode(out.stdout),
    stderr: decode(out.stderr),
  };
}

/** `render` of the example template with `data` into `out`, then `more` flags. */
export function renderArgs(
  data: string,
  out: string,
  ...more: string[]
): string[] {
  return ["render", "-t", EXAMPLE_TEMPLATE, "-d", data, "-o", out, ...more];
}
