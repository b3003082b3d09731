// A minimal document for testing DOM builders in Node. It has no innerHTML on purpose:
// a builder that tried to use it would fail loudly.

class FakeNode {
  constructor(nodeName, doc) {
    this.nodeName = nodeName;
    this.ownerDocument = doc;
    this.childNodes = [];
    this.attributes = {};
    this.className = "";
    this._text = "";
  }

  appendChild(child) {
    if (child.nodeName === "#fragment") {
      for (const c of child.childNodes) { c.parentNode = this; this.childNodes.push(c); }
      child.childNodes = [];
    } else {
      child.parentNode = this;
      this.childNodes.push(child);
    }
    return child;
  }

  replaceChild(child, old) {
    const i = this.childNodes.indexOf(old);
    if (i === -1) throw new Error("replaceChild: not a child");
    const added = child.nodeName === "#fragment" ? child.childNodes : [child];
    for (const c of added) c.parentNode = this;
    this.childNodes.splice(i, 1, ...added);
    if (child.nodeName === "#fragment") child.childNodes = [];
    old.parentNode = null;
    return old;
  }

  setAttribute(name, value) {
    this.attributes[name] = String(value);
  }

  get textContent() {
    if (this.nodeName === "#text") return this._text;
    return this.childNodes.map((c) => c.textContent).join("");
  }

  set textContent(value) {
    if (this.nodeName === "#text") { this._text = String(value); return; }
    this.childNodes = [];
    if (value !== "") this.childNodes.push(this.ownerDocument.createTextNode(value));
  }

  set innerHTML(_) {
    throw new Error("innerHTML must never be used");
  }
}

export class FakeDocument {
  constructor() {
    this.created = [];
  }

  createElement(tag) {
    const n = new FakeNode(tag.toLowerCase(), this);
    this.created.push(n);
    return n;
  }

  createTextNode(text) {
    const n = new FakeNode("#text", this);
    n._text = String(text);
    this.created.push(n);
    return n;
  }

  createDocumentFragment() {
    const n = new FakeNode("#fragment", this);
    this.created.push(n);
    return n;
  }
}
