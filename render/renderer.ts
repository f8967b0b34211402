/**
 * The interface both renderers implement.
 *
 * @module
 */
import type { PiecePayload } from "../template/payload.ts";
import type { RenderedPiece } from "./render_page.ts";

/** Which renderer draws the pieces. */
export type RendererMode = "persistent" | "cluster";

/** Turns payloads into encoded images. */
export interface Renderer extends AsyncDisposable {
  readonly mode: RendererMode;
  /** Renders one piece; rejects when it cannot. */
  render(payload: PiecePayload, signal?: AbortSignal): Promise<RenderedPiece>;
  /** Releases pages. Safe to call twice. */
  close(): Promise<void>;
}
