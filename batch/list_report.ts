/**
 * A list preflight's report as people read it: a summary table for the
 * terminal. (The problem rows as CSV: `problemCsv()` in common/rules.js,
 * which the web page uses too.)
 *
 * @module
 */
import {
  type ListReport,
  PROBLEM_KINDS,
  type ProblemKind,
} from "./list_preflight.ts";

/** What each kind is called in the table. */
export const PROBLEM_LABELS: Record<ProblemKind, string> = {
  "overset": "text too long (overset)",
  "missing-glyphs": "characters the font lacks",
  "empty-required": "required field empty",
  "qr-capacity": "QR code too dense or too long",
  "barcode": "barcode value its type cannot encode",
  "not-a-url": "not a web address",
  "image-failed": "image does not load",
  "image-low-dpi": "image below the template's dpi",
};

/** Problem rows the summary shows before pointing to the full list. */
const SHOWN = 10;

/**
 * The report as text: counts, then per kind the records and the fields,
 * then the first problems. `took` is the wall time in ms.
 */
export function formatListReport(report: ListReport): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const seconds = report.ms / 1000;
  const lines = [
    `Checked ${
      n(report.records)
    } records of ${report.data} against ${report.template} in ${
      seconds.toFixed(1)
    } s (${n(Math.round(report.records / Math.max(seconds, 1e-3)))} records/s)`,
    "",
  ];
  if (report.problems.length === 0) {
    lines.push(`No problems found (checked: ${checkedList(report)}).`);
    return lines.join("\n") + "\n";
  }
  const rows: string[][] = [["problem", "records", "fields"]];
  for (const kind of PROBLEM_KINDS) {
    const of = report.problems.filter((p) => p.kind === kind);
    if (of.length === 0) continue;
    const records = new Set(of.map((p) => p.record)).size;
    const fields = new Map<string, Set<number>>();
    for (const p of of) {
      const set = fields.get(p.field) ?? new Set();
      set.add(p.record);
      fields.set(p.field, set);
    }
    rows.push([
      PROBLEM_LABELS[kind],
      n(records),
      [...fields].map(([f, r]) => `${f} (${n(r.size)})`).join(", "),
    ]);
  }
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const [i, r] of rows.entries()) {
    lines.push(
      `  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padStart(widths[1]!)}  ${r[2]}`,
    );
    if (i === 0) {
      lines.push(
        `  ${"-".repeat(widths[0]!)}  ${"-".repeat(widths[1]!)}  ------`,
      );
    }
  }
  lines.push(
    "",
    `${n(report.recordsWithProblems)} of ${
      n(report.records)
    } records have problems${
      report.problems.length > SHOWN ? "; the first:" : ":"
    }`,
  );
  for (const p of report.problems.slice(0, SHOWN)) {
    lines.push(`  record ${p.record} (line ${p.line}): ${p.message}`);
  }
  lines.push("", `Checked: ${checkedList(report)}.`);
  return lines.join("\n") + "\n";
}

function checkedList(report: ListReport): string {
  const skipped = PROBLEM_KINDS.filter((k) => !report.checked.includes(k));
  return report.checked.map((k) => PROBLEM_LABELS[k]).join(", ") +
    (skipped.length
      ? ` (not checked: ${skipped.map((k) => PROBLEM_LABELS[k]).join(", ")})`
      : "");
}
