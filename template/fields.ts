/**
 * `{{field}}` placeholders: finding them and filling them in.
 *
 * @module
 */

// No nested quantifiers: the name is trimmed afterwards, so an unclosed
// "{{" followed by a long run of spaces cannot make matching slow.
const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;

/** The field names used in `text`, in order of first use, without repeats. */
export function fieldsIn(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(PLACEHOLDER)) {
    names.add((match[1] ?? "").trim());
  }
  return [...names];
}

/** Whether `text` holds at least one placeholder. */
export function hasPlaceholder(text: string): boolean {
  // A fresh non-global copy: `test()` on the shared global pattern would
  // leave a `lastIndex` that later `matchAll()` calls start from.
  return new RegExp(PLACEHOLDER.source).test(text);
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
    PLACEHOLDER,
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
