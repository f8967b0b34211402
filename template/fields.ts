/**
 * `{{field}}` placeholders: finding them and filling them in.
 *
 * @module
 */
// The pattern is shared with the web app's editor: see common/rules.js (no
// nested quantifiers, names trimmed afterwards, so matching stays linear).
import { fieldsIn, placeholderPattern } from "../common/rules.js";

/** The field names used in `text`, in order of first use, without repeats. */
export { fieldsIn };

/** Whether `text` holds at least one placeholder. */
export function hasPlaceholder(text: string): boolean {
  return placeholderPattern().test(text);
}

/**
 * Replaces every `{{field}}` in `text` with `values[field]`; a field with no
 * value becomes the empty string. Values are inserted verbatim, never parsed.
 */
export function substitute(
  text: string,
  values: Readonly<Record<string, string>>,
): string {
  return text.replace(
    placeholderPattern(),
    (_, raw: string) => {
      const name = raw.trim();
      return Object.hasOwn(values, name) ? values[name]! : "";
    },
  );
}

/**
 * Whether a field value counts as "on" for `visibleIf`: anything but empty,
 * `0`, `false`, `no` or `off` (case and surrounding spaces ignored).
 */
export function isTruthy(value: string | undefined): boolean {
  const v = (value ?? "").trim().toLowerCase();
  return v !== "" && v !== "0" && v !== "false" && v !== "no" && v !== "off";
}
