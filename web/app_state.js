// @ts-check
// What the page at `/` knows, shared by its modules: the chosen design, the
// recipient file and what the server says about it, whether a batch is
// starting and the batch on show.

/**
 * What the server said about the recipient file (POST /api/check), and the
 * design it was checked against.
 * @typedef {import("./api.js").CheckAnswer & { template?: string }} Recipients
 */

export const state = {
  /** @type {import("./api.js").TemplateInfo | null} the design chosen in the library */
  selected: null,
  /** @type {File | null} the recipient file the user chose */
  file: null,
  /** @type {Recipients | null} the file's check; null until it answers or when it failed */
  csv: null,
  /** @type {string | undefined} the .xlsx sheet the user picked; none: the first */
  sheet: undefined,
  /** Whether the file is being checked. */
  checking: false,
  starting: false,
  /** @type {string | null} the batch on show */
  batch: null,
  /**
   * @type {{ key: string, answer: import("./api.js").PreflightAnswer } | null}
   * the last "Check my list" answer, and the design and list it is about
   */
  listCheck: null,
};
