// An image at full size in a modal (<dialog>): a message's picture tapped in the transcript, or
// an attachment in the composer. Tap anywhere, Escape or Close to leave.

import { h } from "./dom.js";

/**
 * @param {string} url  a data: URL (images.js imageDataUrl: raster types only)
 * @param {string} label  the image's accessible name
 */
export function showImage(url, label) {
  const dialog = h("dialog", { className: "image-viewer", attrs: { "aria-label": label, "data-testid": "image-viewer" } });
  const close = () => {
    dialog.close();
    dialog.remove();
  };
  dialog.append(
    h("img", { src: url, alt: label }),
    h("button", { type: "button", className: "btn small image-viewer-close", onclick: close }, "Close"));
  dialog.addEventListener("click", close);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.appendChild(dialog);
  dialog.showModal();
  return dialog;
}
