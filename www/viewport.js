// Keeps the app inside the visible part of the screen when the phone keyboard opens, so the
// composer sits on top of the keyboard and never covers the output.
//
// Sets --app-height and --app-top on <html> from visualViewport; CSS falls back to 100dvh.

export class ViewportFit {
  constructor(win = globalThis.window) {
    this.win = win;
    this.vv = win.visualViewport ?? null;
    this.frame = null;
    this.update = () => {
      if (this.frame !== null) return;
      this.frame = win.requestAnimationFrame(() => {
        this.frame = null;
        this.apply();
      });
    };
  }

  start() {
    if (!this.vv) return;
    this.vv.addEventListener("resize", this.update);
    this.vv.addEventListener("scroll", this.update);
    this.apply();
  }

  apply() {
    const style = this.win.document.documentElement.style;
    style.setProperty("--app-height", `${Math.round(this.vv.height)}px`);
    style.setProperty("--app-top", `${Math.round(this.vv.offsetTop)}px`);
  }
}
