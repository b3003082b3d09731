// Turns the tree of markdown.js into DOM nodes, with createElement and text nodes only.
//
// `doc` is the document to build with (a stand-in works in tests). Links were checked by
// the parser (http and https only) and are checked again here; they open in a new tab
// without an opener.

import { safeHref } from "./markdown.js";

/** @returns {DocumentFragment} */
export function markdownToDom(blocks, doc = globalThis.document) {
  const fragment = doc.createDocumentFragment();
  for (const block of blocks) fragment.appendChild(blockNode(block, doc));
  return fragment;
}

function el(doc, tag, className) {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  return node;
}

function blockNode(block, doc) {
  switch (block.type) {
    case "heading": {
      const h = el(doc, `h${Math.min(6, Math.max(1, block.level | 0))}`);
      appendInlines(h, block.children, doc);
      return h;
    }
    case "paragraph": {
      const p = el(doc, "p");
      appendInlines(p, block.children, doc);
      return p;
    }
    case "code": {
      const wrap = el(doc, "div", "md-code");
      const pre = el(doc, "pre");
      const code = el(doc, "code");
      if (block.lang && /^[\w+#.-]{1,30}$/.test(block.lang)) {
        code.className = `lang-${block.lang}`;
        const label = el(doc, "span", "md-code-lang");
        label.textContent = block.lang;
        wrap.appendChild(label);
      }
      code.textContent = block.text;
      pre.appendChild(code);
      wrap.appendChild(pre);
      return wrap;
    }
    case "hr":
      return el(doc, "hr");
    case "blockquote": {
      const q = el(doc, "blockquote");
      for (const child of block.children) q.appendChild(blockNode(child, doc));
      return q;
    }
    case "list": {
      const list = el(doc, block.ordered ? "ol" : "ul");
      if (block.ordered && block.start !== 1) list.setAttribute("start", String(block.start));
      for (const item of block.items) {
        const li = el(doc, "li");
        if (item.checked !== null && item.checked !== undefined) {
          li.className = "md-task";
          const box = el(doc, "span", "md-check");
          box.textContent = item.checked ? "☑ " : "☐ ";
          li.appendChild(box);
        }
        // A single-paragraph item is rendered tight, without its <p>.
        if (item.children.length === 1 && item.children[0].type === "paragraph") {
          appendInlines(li, item.children[0].children, doc);
        } else {
          for (const child of item.children) li.appendChild(blockNode(child, doc));
        }
        list.appendChild(li);
      }
      return list;
    }
    case "table": {
      const wrap = el(doc, "div", "md-table");
      const table = el(doc, "table");
      const thead = el(doc, "thead");
      const headRow = el(doc, "tr");
      block.head.forEach((cell, k) => headRow.appendChild(cellNode("th", cell, block.align[k], doc)));
      thead.appendChild(headRow);
      table.appendChild(thead);
      const tbody = el(doc, "tbody");
      for (const row of block.rows) {
        const tr = el(doc, "tr");
        row.forEach((cell, k) => tr.appendChild(cellNode("td", cell, block.align[k], doc)));
        tbody.appendChild(tr);
      }
      table.appendChild(tbody);
      wrap.appendChild(table);
      return wrap;
    }
    default: {
      const p = el(doc, "p");
      p.textContent = "";
      return p;
    }
  }
}

function cellNode(tag, inlines, align, doc) {
  const cell = el(doc, tag);
  if (align === "left" || align === "center" || align === "right") cell.className = `md-align-${align}`;
  appendInlines(cell, inlines, doc);
  return cell;
}

function appendInlines(parent, nodes, doc) {
  for (const node of nodes) parent.appendChild(inlineNode(node, doc));
}

function inlineNode(node, doc) {
  switch (node.type) {
    case "text":
      return doc.createTextNode(node.text);
    case "code": {
      const code = el(doc, "code");
      code.textContent = node.text;
      return code;
    }
    case "strong":
    case "em":
    case "del": {
      const e = el(doc, node.type);
      appendInlines(e, node.children, doc);
      return e;
    }
    case "link": {
      const href = safeHref(node.href);
      if (!href) {
        const span = el(doc, "span");
        appendInlines(span, node.children, doc);
        return span;
      }
      const a = el(doc, "a");
      a.setAttribute("href", href);
      a.setAttribute("target", "_blank");
      a.setAttribute("rel", "noopener noreferrer nofollow");
      appendInlines(a, node.children, doc);
      return a;
    }
    case "br":
      return el(doc, "br");
    default:
      return doc.createTextNode("");
  }
}
