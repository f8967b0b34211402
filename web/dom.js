// Page helpers shared by the app and the editor: finding and making elements,
// the error banner, and keeping the address in step with the page.
import { ApiError } from "./api.js";

/**
 * @param {string} selector a CSS selector
 * @returns {any} the first matching element
 */
export function $(selector) {
  return document.querySelector(selector);
}

/**
 * Creates an element.
 * @param {string} tag element name
 * @param {Record<string, string | number | boolean>} [attrs] attributes;
 *   false leaves one out
 * @param {...(Node | string)} children nodes or text
 * @returns {HTMLElement} the element
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== false) el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children);
  return el;
}

/**
 * Clones a `<template>` of the page.
 * @param {string} id the template element's id
 * @returns {any} its first element
 */
export function clone(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

/**
 * Keeps the address in step, so a reload comes back to the same place.
 * @param {string} key "template" or "batch"
 * @param {string} value its id
 */
export function setQuery(key, value) {
  const url = new URL(location.href);
  url.searchParams.set(key, value);
  history.replaceState(null, "", url);
}

/**
 * Shows an error in the banner at the top of the page.
 * @param {unknown} error what went wrong
 * @param {string} [context] a sentence saying what was being done
 */
export function showError(error, context) {
  const message = error instanceof Error ? error.message : String(error);
  $("#error-message").textContent = context ? `${context} ${message}` : message;
  const ref = error instanceof ApiError && error.requestId;
  $("#error-ref").textContent = ref ? `(reference ${ref})` : "";
  $("#error").hidden = false;
  $("#error").scrollIntoView({ block: "nearest", behavior: "smooth" });
  console.error(error);
}

/** Hides the error banner. */
export function hideError() {
  $("#error").hidden = true;
}
