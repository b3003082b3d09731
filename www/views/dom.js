// Building DOM with createElement and text nodes. Strings are always text, never markup.

/**
 * h("button", {className: "x", onclick: fn, attrs: {"aria-label": "Close"}}, "Close")
 * Children: nodes, strings (text nodes), arrays, null/undefined/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "attrs") {
      for (const [name, v] of Object.entries(value)) if (v !== undefined && v !== null && v !== false) el.setAttribute(name, v === true ? "" : String(v));
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "text") {
      el.textContent = String(value);
    } else if (key === "innerHTML" || key === "outerHTML") {
      throw new Error("h(): markup is never set from strings");
    } else {
      el[key] = value;
    }
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces all children of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A <details> whose body is built only when first opened (long tool output, debug records). */
export function lazyDetails({ className = "", summary, build, open = false }) {
  const details = h("details", { className });
  const sum = h("summary", {}, summary);
  details.appendChild(sum);
  let built = false;
  const ensure = () => {
    if (built) return;
    built = true;
    append(details, [build()]);
  };
  details.addEventListener("toggle", () => { if (details.open) ensure(); });
  /** Builds the body now (to search it before opening, as views/highlight.js does). */
  details.ensure = ensure;
  if (open) { details.open = true; ensure(); }
  details.rebuild = () => {
    if (!built) return;
    while (details.childNodes.length > 1) details.removeChild(details.lastChild);
    built = false;
    if (details.open) ensure();
  };
  return details;
}
