/**
 * The interface both renderers implement.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import type { PiecePayload } from "../template/payload.ts";
import type { RenderedPiece } from "./render_page.ts";

/** Which renderer draws the pieces. */
export type RendererMode = "persistent" | "cluster";

/**
 * What a PDF page holds: one image of the piece (`raster`), or the piece as
 * Chromium prints its SVG (`vector`: text stays text, shared images once per
 * chunk).
 */
export type PdfMode = "raster" | "vector";

/** Turns payloads into encoded images (raster) or one-page PDFs (vector). */
export interface Renderer extends AsyncDisposable {
  readonly mode: RendererMode;
  /**
   * Renders one piece: a `RasterPiece` in raster mode, a `VectorPiece` in
   * vector mode. Rejects when it cannot.
   */
  render(payload: PiecePayload, signal?: AbortSignal): Promise<RenderedPiece>;
  /** Releases pages. Safe to call twice. */
  close(): Promise<void>;
}

/** What the user asks for. */
export type RendererChoice = "auto" | RendererMode;

const CHOICES: readonly RendererChoice[] = ["auto", "persistent", "cluster"];

/**
 * The renderer named by the environment: `PRESSRUN_RENDERER`
 * (auto|persistent|cluster) wins over `USE_PERSISTENT_RENDERING`
 * (true → auto, false → cluster). @default "auto"
 */
export function rendererFromEnv(
  env: { get(name: string): string | undefined } = Deno.env,
): RendererChoice {
  const named = env.get("PRESSRUN_RENDERER")?.trim().toLowerCase();
  if (named) return parseRendererChoice(named, "PRESSRUN_RENDERER");
  const flag = env.get("USE_PERSISTENT_RENDERING")?.trim().toLowerCase();
  if (flag === undefined || flag === "") return "auto";
  if (["true", "1", "yes", "on"].includes(flag)) return "auto";
  if (["false", "0", "no", "off"].includes(flag)) return "cluster";
  throw new UsageError(
    `USE_PERSISTENT_RENDERING must be true or false, got "${flag}"`,
    { location: { field: "USE_PERSISTENT_RENDERING" } },
  );
}

/** Checks a renderer name; `source` names where it came from. */
export function parseRendererChoice(
  value: string,
  source = "renderer",
): RendererChoice {
  if ((CHOICES as readonly string[]).includes(value)) {
    return value as RendererChoice;
  }
  throw new UsageError(
    `${source} must be auto, persistent or cluster, got "${value}"`,
    { location: { field: source } },
  );
}
