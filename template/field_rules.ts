/**
 * Which of a template's fields a record may leave empty. A field is
 * required unless the template says otherwise in its `fields` map
 * (`"fields": { "company": "optional", "zip": "required" }`) or an object
 * shows only when it is set (its `visibleIf`): a list's empty required
 * field is a problem a preflight reports.
 *
 * @module
 */

/** What the template's `fields` map says of a field. */
export type FieldRule = "required" | "optional";

const RULES: readonly FieldRule[] = ["required", "optional"];

/**
 * The template's optional fields: those its `fields` map (`declared`, the
 * document's top-level `fields`, if any) marks optional, and those an
 * object's `visibleIf` names unless the map marks them required.
 * `fail(message, field)` reports a map that is not an object, names a
 * field the template does not use, or gives a rule other than
 * "required" or "optional".
 */
export function optionalFields(
  declared: unknown,
  template: { fields: readonly string[]; visibleIf: readonly string[] },
  fail: (message: string, field?: string) => never,
): string[] {
  const rules = new Map<string, FieldRule>();
  if (declared !== undefined) {
    if (
      declared === null || typeof declared !== "object" ||
      Array.isArray(declared)
    ) {
      fail(
        `"fields" must be an object of field names and "required" or "optional"`,
        "fields",
      );
    }
    for (const [name, rule] of Object.entries(declared as object)) {
      if (!template.fields.includes(name)) {
        fail(
          `fields.${name}: the template uses no field "${name}" (its fields: ${
            template.fields.join(", ") || "none"
          })`,
          `fields.${name}`,
        );
      }
      if (!RULES.includes(rule as FieldRule)) {
        fail(
          `fields.${name} must be "required" or "optional", got ${
            JSON.stringify(rule)
          }`,
          `fields.${name}`,
        );
      }
      rules.set(name, rule as FieldRule);
    }
  }
  return template.fields.filter((f) =>
    rules.get(f) === "optional" ||
    (rules.get(f) === undefined && template.visibleIf.includes(f))
  );
}
