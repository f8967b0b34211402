/**
 * Overset texts: a text whose copyfit (`template/format.ts`) ran out of
 * bounds still overflows its box. The render page reports them by object
 * id (`OversetInfo`); here they are named as the user knows them — the
 * object's path in the template and the fields its text is made of — for
 * the manifest, the log and the error of a record, and a batch's
 * `onOverset` policy says what becomes of such a record:
 *
 * - `warn` (the default): the piece is written as drawn, its manifest entry
 *   lists the overset texts and a warning names the record and the field;
 * - `fail`: the record fails (its error names the record and the field) and
 *   the batch's `onError` policy applies;
 * - `skip`: the record is not written, listed as `"skipped"`.
 *
 * @module
 */
import { fieldsIn } from "./fields.ts";
import type { Template } from "./parse.ts";
import { RecordError } from "./payload.ts";
import type { OversetInfo } from "../render/page_api.ts";

/** What becomes of a record with an overset text. */
export type OversetPolicy = "warn" | "fail" | "skip";

/** The values `onOverset` (`--on-overset`) takes. */
export const OVERSET_POLICIES: readonly OversetPolicy[] = [
  "warn",
  "fail",
  "skip",
];

/** An overset text as the manifest lists it. */
export interface OversetText {
  /** The object's path in the template: `canvas.objects[8]`. */
  object: string;
  /** The fields its text is made of, in order; none for a fixed text. */
  fields: string[];
  /** Where its copyfit ended (its bounds): font size, in design units. */
  fontSize: number;
  /** Letter spacing, Fabric's `charSpacing` (1/1000 em). */
  charSpacing: number;
  /** Horizontal scale, a factor of the template's own (1: not narrowed). */
  scaleX: number;
}

/**
 * The page's overset reports named after the template's objects and fields.
 * An id the template does not have is named by the id itself.
 */
export function oversetTexts(
  template: Pick<Template, "variables">,
  overset: readonly OversetInfo[],
): OversetText[] {
  return overset.map((info) => {
    const variable = template.variables.find((v) => v.id === info.id);
    return {
      object: variable?.path ?? info.id,
      fields: fieldsIn(variable?.text ?? ""),
      fontSize: round(info.fontSize, 100),
      charSpacing: round(info.charSpacing, 10),
      scaleX: round(info.scaleX, 1000),
    };
  });
}

/**
 * One overset text in words: `field "lastName" overflows its box
 * canvas.objects[8] even at fontSize 16, charSpacing -80, scaleX 0.8`.
 */
export function describeOverset(text: OversetText): string {
  const { fields } = text;
  const what = fields.length === 0
    ? "the text"
    : `field${fields.length === 1 ? "" : "s"} ${
      fields.map((f) => JSON.stringify(f)).join(", ")
    }`;
  return `${what} overflow${
    fields.length > 1 ? "" : "s"
  } its box ${text.object} even at fontSize ${text.fontSize}, charSpacing ${text.charSpacing}, scaleX ${text.scaleX}`;
}

/**
 * A record whose text overflows its box even at its copyfit bounds, under
 * `onOverset: "fail"`: "Cannot render record 12: field "lastName" overflows
 * its box canvas.objects[8] even at fontSize 16, charSpacing -80, scaleX
 * 0.8".
 */
export class OversetError extends RecordError {
  override name = "OversetError";
  /** The overset texts, as the manifest lists them. */
  readonly texts: OversetText[];
  constructor(index: number, texts: OversetText[]) {
    super(index, texts.map(describeOverset).join("; "));
    this.texts = texts;
  }
}

function round(value: number, per: number): number {
  return Math.round(value * per) / per;
}
