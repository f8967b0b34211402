// What the page at `/` knows, shared by its modules: the chosen design, the
// recipient file, whether a batch is starting and the batch on show.

export const state = {
  /** @type {any} the design chosen in the library */ selected: null,
  /** @type {any} the recipient file, parsed */ csv: null,
  starting: false,
  /** @type {string | null} the batch on show */ batch: null,
  /** @type {Map<string, boolean>} whether a batch merges its pieces */
  merged: new Map(),
};
