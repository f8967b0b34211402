// @ts-check
/**
 * The rules the server and the web app both need, written once: the
 * `{{field}}` placeholder, the CSV delimiter detection and the batch states.
 *
 * A plain ES module with no imports, so it runs unchanged in Deno (imported
 * as `../common/rules.js`) and in the browser (served at `/common/rules.js`,
 * the same relative path from `/web/`).
 *
 * @module
 */

/**
 * The `{{field}}` placeholder, as a fresh global pattern on each call (a
 * shared global RegExp would carry its `lastIndex` from one use to the
 * next). Group 1 is the name as written: trim it. The name is any run of
 * characters other than braces, with no nested quantifiers, so matching
 * stays linear even on an unclosed `{{` followed by a long run of spaces.
 *
 * @returns {RegExp}
 */
export function placeholderPattern() {
  return /\{\{([^{}]*)\}\}/g;
}

/**
 * The field names used in `text`, spaces around each name trimmed, in order
 * of first use, without repeats. `{{}}` and `{{ }}` give the empty name.
 *
 * @param {string} text
 * @returns {string[]}
 */
export function fieldsIn(text) {
  /** @type {Set<string>} */
  const names = new Set();
  for (const match of text.matchAll(placeholderPattern())) {
    names.add((match[1] ?? "").trim());
  }
  return [...names];
}

/** The field delimiters pressrun understands. */
export const DELIMITERS = /** @type {const} */ ([",", ";", "\t"]);

/** @typedef {typeof DELIMITERS[number]} Delimiter */

/**
 * Picks the delimiter from the first line (outside quotes) of a text sample:
 * the most frequent of `,` `;` TAB; comma on a tie or none.
 *
 * @param {string} sample the start of the file
 * @returns {Delimiter}
 */
export function detectDelimiter(sample) {
  /** @type {Record<Delimiter, number>} */
  const counts = { ",": 0, ";": 0, "\t": 0 };
  let quoted = false;
  for (const char of sample) {
    if (char === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (char === "\n" || char === "\r") break;
    else if (isDelimiter(char)) counts[char]++;
  }
  /** @type {Delimiter} */
  let best = ",";
  let tie = false;
  for (const delimiter of DELIMITERS.slice(1)) {
    if (counts[delimiter] > counts[best]) [best, tie] = [delimiter, false];
    else if (counts[delimiter] === counts[best]) tie = true;
  }
  return tie ? "," : best;
}

/**
 * @param {string} char
 * @returns {char is Delimiter}
 */
function isDelimiter(char) {
  return DELIMITERS.some((delimiter) => delimiter === char);
}

/** Where a batch can be in its life, in order. */
export const BATCH_STATES = /** @type {const} */ ([
  "queued",
  "running",
  "done",
  "failed",
  "cancelled",
]);

/** @typedef {typeof BATCH_STATES[number]} BatchState */

/** The states a batch ends in: nothing more happens unless it is retried. */
export const TERMINAL_STATES = /** @type {const} */ ([
  "done",
  "failed",
  "cancelled",
]);

/**
 * Whether a batch in `state` has finished (done, failed or cancelled).
 *
 * @param {string} state
 * @returns {boolean}
 */
export function isTerminal(state) {
  return TERMINAL_STATES.some((terminal) => terminal === state);
}

/**
 * The columns of a preflight's problem rows as CSV (`pressrun preflight
 * --report`, and the web page's download).
 */
export const PROBLEM_COLUMNS = /** @type {const} */ ([
  "record",
  "line",
  "field",
  "problem",
  "value",
  "object",
  "message",
]);

/**
 * A preflight's problem rows as CSV: RFC 4180, CRLF line ends, a byte order
 * mark so spreadsheet programs read it as UTF-8; a cell is quoted when it
 * holds a comma, a quote or a line break.
 *
 * @param {readonly { record: number, line: number, field: string, kind: string, value: string, object: string, message: string }[]} problems
 * @returns {string}
 */
export function problemCsv(problems) {
  /** @param {string} v */
  const cell = (v) => /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
  const rows = problems.map((p) =>
    [
      String(p.record),
      String(p.line),
      p.field,
      p.kind,
      p.value,
      p.object,
      p.message,
    ].map(cell).join(",")
  );
  return "\uFEFF" + [PROBLEM_COLUMNS.join(","), ...rows].join("\r\n") + "\r\n";
}
