/**
 * Per-record payloads: what changes on the page for one recipient. Built on
 * the Deno side (placeholders filled, images loaded, QR matrices and barcode
 * geometry computed), so the page only draws.
 *
 * @module
 */
import QRCode from "qrcode";
import { DataError } from "../common/errors.ts";
import { allSettledOrThrow } from "./_all.ts";
import type { AssetResolver } from "./assets.ts";
import { barcodeDrawing } from "./barcode.ts";
import { fieldsIn, isTruthy, substitute } from "./fields.ts";
import type { Template, VariableObject } from "./parse.ts";
import type {
  BarcodeDrawing,
  ObjectUpdate,
  PiecePayload,
  QrMatrix,
} from "../render/page_api.ts";

export type {
  BarcodeDrawing,
  ObjectUpdate,
  PiecePayload,
  QrMatrix,
} from "../render/page_api.ts";

/**
 * One record's values cannot be turned into a piece (an image it names is
 * refused, its QR value is empty); the batch may go on without it.
 */
export class RecordError extends DataError {
  override name = "RecordError";
  /** 1-based record number. */
  readonly index: number;
  constructor(index: number, message: string, options?: ErrorOptions) {
    super(`Cannot render record ${index}: ${message}`, {
      ...options,
      location: { record: index },
    });
    this.index = index;
  }
}

/**
 * The payload of record `index`. Throws {@linkcode RecordError} naming the
 * record and the field for a value that cannot be used.
 */
export async function piecePayload(
  template: Template,
  record: { index: number; values: Readonly<Record<string, string>> },
  assets: AssetResolver,
): Promise<PiecePayload> {
  const { index, values } = record;
  const objects = await allSettledOrThrow(
    template.variables.map((v) => update(v, index, values, assets)),
  );
  return { index, objects };
}

/**
 * Whether `v` shows for a record with `values`: it has no `visibleIf`, or
 * the field it names is set. The render, the preflight and its layout pass
 * all ask this.
 */
export function shows(
  v: Pick<VariableObject, "visibleIf">,
  values: Readonly<Record<string, string>>,
): boolean {
  return v.visibleIf === undefined ||
    isTruthy(
      Object.hasOwn(values, v.visibleIf) ? values[v.visibleIf] : undefined,
    );
}

async function update(
  v: VariableObject,
  index: number,
  values: Readonly<Record<string, string>>,
  assets: AssetResolver,
): Promise<ObjectUpdate> {
  const visible = shows(v, values);
  const out: ObjectUpdate = { id: v.id, visible };
  if (v.kind === "text") out.text = substitute(v.text!, values);
  if (v.kind === "image") {
    const src = substitute(v.src!, values).trim();
    if (!visible || src === "") {
      out.image = null;
    } else {
      try {
        out.image = await assets.imageDataUrl(src, `${v.path}.src`);
      } catch (error) {
        throw new RecordError(index, (error as Error).message, {
          cause: error,
        });
      }
    }
  }
  if (v.kind === "qr" && visible) {
    const text = substitute(v.qr!.value, values);
    if (text.trim() === "") {
      throw new RecordError(
        index,
        `${v.path}.qr.value "${v.qr!.value}" is empty for this record`,
      );
    }
    out.qr = qrMatrix(text, v.qr!.ecc, index, v.path);
  }
  if (v.kind === "barcode" && visible) out.barcode = barcode(v, index, values);
  return out;
}

/**
 * The barcode of record `index`; a value that cannot be encoded is a
 * {@linkcode RecordError} naming the field it came from:
 * `Cannot render record 7: field "imb": the routing code must have 0, 5, 9
 * or 11 digits, got 7`.
 */
function barcode(
  v: VariableObject,
  index: number,
  values: Readonly<Record<string, string>>,
): BarcodeDrawing {
  const spec = v.barcode!;
  const text = substitute(spec.value, values);
  if (text.trim() === "") {
    throw new RecordError(
      index,
      `${v.path}.barcode.value "${spec.value}" is empty for this record`,
    );
  }
  try {
    return barcodeDrawing(spec, text);
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    const fields = fieldsIn(spec.value);
    const source = fields.length === 0
      ? `${v.path}.barcode.value`
      : `field${fields.length > 1 ? "s" : ""} ${
        fields.map((f) => JSON.stringify(f)).join(", ")
      }`;
    throw new RecordError(index, `${source}: ${error.message}`, {
      cause: error,
    });
  }
}

function qrMatrix(
  text: string,
  ecc: "L" | "M" | "Q" | "H",
  index: number,
  path: string,
): QrMatrix {
  try {
    const { modules } = QRCode.create(text, { errorCorrectionLevel: ecc });
    let bits = "";
    for (const dark of modules.data) bits += dark ? "1" : "0";
    return { size: modules.size, modules: bits };
  } catch (error) {
    throw new RecordError(
      index,
      `${path}.qr.value cannot be encoded: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
