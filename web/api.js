// @ts-check
// The pressrun API client for the browser: one function per endpoint, typed
// with the server's own types, the access token, the dialog that asks for a
// token on a 401, and images fetched with it.

/**
 * A design in the library (GET /api/templates).
 * @typedef {import("../batch/store.ts").TemplateInfo} TemplateInfo
 */
/**
 * A batch's status as the API and the events stream send it.
 * @typedef {ReturnType<typeof import("../server/_events.ts").publicStatus>} BatchStatus
 */
/**
 * One record of a batch as GET /api/batches/:id lists it.
 * @typedef {Pick<import("../batch/manifest.ts").ManifestEntry, "index" | "status" | "file" | "error">} PieceStatus
 */
/** @typedef {BatchStatus & { pieces: PieceStatus[] }} BatchDetail */
/**
 * What POST /api/check says about a CSV.
 * @typedef {import("../server/routes/check.ts").CheckAnswer} CheckAnswer
 */
/**
 * What POST /api/preflight says about every record of a list.
 * @typedef {import("../server/routes/preflight.ts").PreflightAnswer} PreflightAnswer
 */
/**
 * A design with its document (GET /api/templates/:id).
 * @typedef {TemplateInfo & { template: import("./editor_document.js").TemplateDoc }} TemplateDetail
 */

const TOKEN_KEY = "pressrun.token";

/** An error answered by the API, or a network failure (status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server was not reached
   * @param {string} message what went wrong, in plain words
   * @param {{ requestId?: string, cause?: unknown }} [options]
   */
  constructor(status, message, options = {}) {
    super(message, { cause: options.cause });
    this.name = "ApiError";
    this.status = status;
    this.requestId = options.requestId;
  }
}

/** @returns {string} the access token kept for this tab, or "" */
export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

/**
 * `?token=…` for URLs that cannot send a header (EventSource, links, images).
 * @returns {string} the query string, or "" when no token is set
 */
export function tokenQuery() {
  const token = getToken();
  return token ? `?token=${encodeURIComponent(token)}` : "";
}

/** @type {Promise<string | null> | null} */
let tokenAsk = null;

/** The token dialog's content (static markup, no script). */
const TOKEN_DIALOG =
  `<form method="dialog"> <h2 id="token-title">Access token needed</h2> <p>This pressrun server is protected. Enter the access token you were given.</p> <p id="token-wrong" class="check missing" hidden>That token was not accepted. Try again.</p> <label class="field" for="token-input"> <span>Access token</span> <input id="token-input" type="password" autocomplete="off" required> </label> <div class="actions"> <button id="token-submit" class="button primary" value="ok">Continue</button> <button id="token-cancel" class="button" value="cancel" formnovalidate>Cancel</button> </div> </form>`;

/**
 * The token dialog, added to the page the first time it is needed.
 * @returns {HTMLDialogElement}
 */
function tokenDialog() {
  const found = document.querySelector("dialog#token-dialog");
  if (found instanceof HTMLDialogElement) return found;
  const dialog = document.createElement("dialog");
  dialog.id = "token-dialog";
  dialog.setAttribute("aria-labelledby", "token-title");
  dialog.innerHTML = TOKEN_DIALOG;
  document.body.append(dialog);
  return dialog;
}

/**
 * Shows the token dialog, once even when several requests got a 401.
 * @param {boolean} rejected whether a token was sent and refused
 * @returns {Promise<string | null>} the token, or null when cancelled
 */
function askToken(rejected) {
  tokenAsk ??= new Promise((resolve) => {
    const dialog = tokenDialog();
    const input = dialog.querySelector("input");
    const wrong = dialog.querySelector("p#token-wrong");
    if (!input || !(wrong instanceof HTMLElement)) {
      throw new TypeError("The token dialog lacks its input");
    }
    wrong.hidden = !rejected;
    input.value = "";
    dialog.returnValue = "";
    dialog.addEventListener("close", () => {
      const token = dialog.returnValue === "ok" ? input.value.trim() : "";
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
      tokenAsk = null;
      resolve(token || null);
    }, { once: true });
    dialog.showModal();
  });
  return tokenAsk;
}

/**
 * @typedef {object} RequestOptions
 * @property {string} [method] "GET" unless given
 * @property {FormData | object} [body] sent as is when FormData, as JSON
 *   otherwise
 */

/**
 * Calls the API. Sends the token, asks for one on a 401 and retries.
 * @param {string} path e.g. "/api/templates"
 * @param {RequestOptions} [options]
 * @returns {Promise<Response>} a successful response
 * @throws {ApiError} with the server's `message`
 */
async function request(path, options = {}) {
  const { method = "GET", body } = options;
  const headers = new Headers();
  /** @type {RequestInit} */
  const init = { method, headers };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers.set("Content-Type", "application/json");
  }
  for (let attempt = 0;; attempt++) {
    const token = getToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    else headers.delete("Authorization");
    let res;
    try {
      res = await fetch(path, init);
    } catch (cause) {
      throw new ApiError(
        0,
        "Cannot reach the pressrun server. Check that it is running, then try again.",
        { cause },
      );
    }
    if (res.status === 401 && attempt < 3) {
      if (await askToken(token !== "") !== null) continue;
      throw new ApiError(401, "This server needs an access token.");
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }
}

/**
 * The JSON answer of an endpoint. The wire carries no types: `T` is the
 * server's own type for this endpoint, named by the function that asks.
 * @template T
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<T>}
 */
async function json(path, options) {
  const res = await request(path, options);
  // Response.json() answers `any`: this is where the server's type is given.
  return await res.json();
}

/** @typedef {import("../server/errors.ts").ErrorBody} ErrorBody */

/**
 * @param {Response} res a failed response
 * @returns {Promise<ApiError>} carrying the JSON `message` when there is one
 */
async function errorFrom(res) {
  /** @type {Record<number, string>} */
  const words = {
    403: "That is not allowed.",
    404: "That could not be found. It may have been deleted.",
    413: "The file is too large for this server.",
  };
  const fallback = words[res.status] ??
    `The server answered ${res.status} ${res.statusText}.`;
  try {
    /** @type {Partial<ErrorBody>} a proxy's error page may say anything */
    const body = await res.json();
    return new ApiError(res.status, body.message || body.error || fallback, {
      requestId: body.requestId,
    });
  } catch {
    return new ApiError(res.status, fallback);
  }
}

const enc = encodeURIComponent;

/** @returns {Promise<TemplateInfo[]>} the library, built-in designs first */
export function listTemplates() {
  return json("/api/templates");
}

/** @param {string} id @returns {Promise<TemplateDetail>} a design and its document */
export function getTemplate(id) {
  return json(`/api/templates/${enc(id)}`);
}

/**
 * Adds a design to the library.
 * @param {import("./editor_document.js").TemplateDoc} doc the document
 * @returns {Promise<TemplateInfo>} the new entry
 */
export function addTemplate(doc) {
  return json("/api/templates", { method: "POST", body: doc });
}

/** @param {string} id deletes this design @returns {Promise<void>} */
export async function deleteTemplate(id) {
  await request(`/api/templates/${enc(id)}`, { method: "DELETE" });
}

/**
 * Reads a CSV as a batch would, and checks it against a design.
 * @param {File} file the CSV
 * @param {string} [template] the design's library id; none reads the CSV only
 * @param {string} [pdfMode] "vector" or "raster": the answer says whether the design prints so
 * @param {string} [sheet] an .xlsx workbook's sheet; none reads its first
 * @returns {Promise<CheckAnswer>}
 */
export function checkCsv(file, template, pdfMode, sheet) {
  const form = new FormData();
  if (template) form.set("template", template);
  if (pdfMode) form.set("pdfMode", pdfMode);
  if (sheet) form.set("sheet", sheet);
  form.set("data", file, file.name);
  return json("/api/check", { method: "POST", body: form });
}

/**
 * Checks every record of a list against a design (POST /api/preflight).
 * @param {File} file the recipient list
 * @param {string} template the design's library id
 * @param {string} [sheet] an .xlsx workbook's sheet; none reads its first
 * @returns {Promise<PreflightAnswer>}
 */
export function preflightList(file, template, sheet) {
  const form = new FormData();
  form.set("template", template);
  if (sheet) form.set("sheet", sheet);
  form.set("data", file, file.name);
  return json("/api/preflight", { method: "POST", body: form });
}

/**
 * Starts a batch.
 * @param {FormData} form `template`, `data` and the options
 * @returns {Promise<Pick<BatchStatus, "id">>} the new batch's id
 */
export function createBatch(form) {
  return json("/api/batches", { method: "POST", body: form });
}

/** @returns {Promise<BatchStatus[]>} every batch, newest first */
export function listBatches() {
  return json("/api/batches");
}

/** @param {string} id @returns {Promise<BatchDetail>} a batch and its records */
export function getBatch(id) {
  return json(`/api/batches/${enc(id)}`);
}

/**
 * Cancels or retries a batch.
 * @param {string} id the batch
 * @param {"cancel" | "retry"} action
 * @returns {Promise<BatchStatus>} its status afterwards
 */
export function changeBatch(id, action) {
  return json(`/api/batches/${enc(id)}/${action}`, { method: "POST" });
}

/**
 * The API path of a batch's file, with the token for links and streams.
 * @param {string} id the batch
 * @param {string} file e.g. "output.pdf", "events"
 * @returns {string}
 */
export function batchUrl(id, file) {
  return `/api/batches/${enc(id)}/${file}${tokenQuery()}`;
}

/**
 * Shows an API image in `img`: a plain URL, or fetched with the token.
 * @param {HTMLImageElement} img the target
 * @param {string} path the image's API path
 */
export async function loadImage(img, path) {
  if (!getToken()) {
    img.src = path;
    return;
  }
  try {
    img.src = URL.createObjectURL(await (await request(path)).blob());
    img.addEventListener("load", () => URL.revokeObjectURL(img.src), {
      once: true,
    });
  } catch {
    img.dispatchEvent(new Event("error"));
  }
}
