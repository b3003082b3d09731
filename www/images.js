// Images sent with a prompt (issue 13): photos and screenshots attached in the composer.
//
// Each image is scaled in the browser to at most MAX_SIDE px on its long side and kept under
// MAX_IMAGE_BYTES once base64-encoded (what the agent's model accepts): a small enough file is
// sent as it is (a GIF keeps its animation); a larger one is drawn on a canvas and encoded
// again (JPEG and WebP at falling quality; PNG lossless first, then JPEG; a GIF that is too
// large becomes a still PNG or JPEG). All of a message's images stay under MAX_TOTAL_BYTES, so
// the agent's own records that repeat them fit the server's 16 MiB record limit.
//
// The decisions (imagePlan, encodingAttempts, checkBudget, imageDataUrl...) are pure and tested
// in node; prepareImage() runs them with the browser's createImageBitmap, canvas and FileReader.
//
// On the wire: {"type":"image","data":"<base64 without a data: prefix>","mimeType":"image/png"}.

export const IMAGE_TYPES = Object.freeze(["image/png", "image/jpeg", "image/webp", "image/gif"]);
/** For <input type=file accept>. */
export const IMAGE_ACCEPT = IMAGE_TYPES.join(",");
/** Longest side, in pixels, of an image sent. */
export const MAX_SIDE = 2000;
/** One image, base64-encoded (5 MiB: the limit of the models' APIs, counted on the base64). */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
/** All images of one message, base64-encoded (8 MiB): the agent repeats them in its own records
 * (pi: message_start, message_end, agent_end), each of which must stay under the server's 16 MiB
 * record limit with the rest of the run (SPEC §14, PromptRequest.maxTotalImageBytes). */
export const MAX_TOTAL_BYTES = 8 * 1024 * 1024;
/** One message, as sent (JSON text, UTF-8): the server's AMARRE_MAX_RECORD_BYTES default. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Images in one message. */
export const MAX_IMAGES = 10;
/** Qualities tried, in order, when a JPEG or WebP must be encoded again. */
export const QUALITIES = Object.freeze([0.9, 0.8, 0.7, 0.55, 0.4]);

/** The length of the base64 text of `bytes` bytes (with padding). */
export function base64Length(bytes) {
  return 4 * Math.ceil(Math.max(0, bytes) / 3);
}

/** "2.4 MB", "830 KB": sizes as a person reads them. */
export function formatBytes(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/**
 * The size that fits in `max` × `max`, keeping the aspect ratio (never upscaled).
 * @returns {{width: number, height: number, scaled: boolean}}
 */
export function fitWithin(width, height, max = MAX_SIDE) {
  const long = Math.max(width, height);
  if (!(long > max)) return { width, height, scaled: false };
  const f = max / long;
  return {
    width: Math.max(1, Math.min(max, Math.round(width * f))),
    height: Math.max(1, Math.min(max, Math.round(height * f))),
    scaled: true,
  };
}

/**
 * What to do with a picked file, knowing its type, pixel size and byte size:
 *   {action: "refuse", reason}
 *   {action: "keep"}                                     sent as it is
 *   {action: "encode", width, height, attempts}          drawn at that size and encoded with
 *                                                        the first attempt that fits
 * @param {{type: string, width: number, height: number, size: number}} file
 */
export function imagePlan({ type, width, height, size }) {
  if (!IMAGE_TYPES.includes(type)) {
    return { action: "refuse", reason: "not a supported image (PNG, JPEG, WebP or GIF)" };
  }
  if (!(width > 0 && height > 0)) return { action: "refuse", reason: "the image could not be read" };
  const fit = fitWithin(width, height);
  if (!fit.scaled && base64Length(size) <= MAX_IMAGE_BYTES) return { action: "keep" };
  return { action: "encode", width: fit.width, height: fit.height, attempts: encodingAttempts(type) };
}

/**
 * The encodings tried in order, each {type, quality?, scale}: the file's own format first
 * (PNG and GIF lossless as PNG), then JPEG at falling quality, then smaller.
 */
export function encodingAttempts(type) {
  const lossy = (t, scale = 1) => QUALITIES.map((quality) => ({ type: t, quality, scale }));
  const attempts = [];
  if (type === "image/webp") attempts.push(...lossy("image/webp"));
  if (type === "image/png" || type === "image/gif") attempts.push({ type: "image/png", scale: 1 });
  attempts.push(...lossy("image/jpeg"));
  attempts.push({ type: "image/jpeg", quality: 0.6, scale: 0.7 }, { type: "image/jpeg", quality: 0.6, scale: 0.5 });
  return attempts;
}

/** Does an encoded blob of `bytes` bytes fit one image's limit? */
export function fitsImageLimit(bytes) {
  return base64Length(bytes) <= MAX_IMAGE_BYTES;
}

/**
 * Can `next` (an image's base64 length) join the images already attached?
 * @param {Array<{data: string}>} attached
 * @returns {{ok: true} | {ok: false, reason: string}}
 */
export function checkBudget(attached, nextLength) {
  if (attached.length >= MAX_IMAGES) return { ok: false, reason: `at most ${MAX_IMAGES} images go with one message` };
  const total = attached.reduce((sum, a) => sum + a.data.length, 0) + nextLength;
  if (total > MAX_TOTAL_BYTES) {
    return { ok: false, reason: `the images of one message may add up to ${formatBytes(MAX_TOTAL_BYTES)}; remove one first` };
  }
  return { ok: true };
}

/** The UTF-8 size of a record as it is sent. */
export function messageBytes(record) {
  return new TextEncoder().encode(JSON.stringify(record)).length;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The `data:` URL to show an image part of a message ({type:"image", data, mimeType}, or the
 * Anthropic shape {source:{type:"base64", media_type, data}}), or null when it is not one of
 * the four raster types with base64 data (never SVG, never anything the page would run).
 */
export function imageDataUrl(part) {
  const { data, mimeType } = imageFields(part);
  if (!IMAGE_TYPES.includes(mimeType) || typeof data !== "string" || data.length === 0 || !BASE64.test(data)) return null;
  return `data:${mimeType};base64,${data}`;
}

/** {data, mimeType} of an image content part, in pi's shape or Anthropic's. */
export function imageFields(part) {
  if (!part || typeof part !== "object") return { data: null, mimeType: null };
  const source = part.source && typeof part.source === "object" ? part.source : null;
  const data = typeof part.data === "string" ? part.data : typeof source?.data === "string" ? source.data : null;
  const mimeType = typeof part.mimeType === "string" ? part.mimeType
    : typeof source?.media_type === "string" ? source.media_type
      : typeof part.media_type === "string" ? part.media_type : null;
  return { data, mimeType };
}

/** A short reason a file cannot be attached, for the composer's error line. */
export function refusalText(name, reason) {
  return `${name ? `${name}: ` : ""}${reason}.`;
}

// --- the browser's side -----------------------------------------------------------------------

/**
 * Reads, scales and encodes one picked or pasted file.
 * @param {File|Blob} file
 * @param {{createImageBitmap?: Function, document?: Document, FileReader?: Function}} [env]
 * @returns {Promise<{ok: true, image: {mimeType: string, data: string, width: number,
 *   height: number, name: string, changed: boolean}} | {ok: false, error: string}>}
 */
export async function prepareImage(file, env = globalThis) {
  const name = typeof file.name === "string" && file.name ? file.name : "Pasted image";
  const type = String(file.type || "");
  if (!IMAGE_TYPES.includes(type)) return { ok: false, error: refusalText(name, "not a supported image (PNG, JPEG, WebP or GIF)") };
  let bitmap;
  try {
    bitmap = await env.createImageBitmap(file);
  } catch {
    return { ok: false, error: refusalText(name, "the image could not be read") };
  }
  try {
    const plan = imagePlan({ type, width: bitmap.width, height: bitmap.height, size: file.size });
    if (plan.action === "refuse") return { ok: false, error: refusalText(name, plan.reason) };
    if (plan.action === "keep") {
      return { ok: true, image: { mimeType: type, data: await readBase64(file, env), width: bitmap.width, height: bitmap.height, name, changed: false } };
    }
    for (const attempt of plan.attempts) {
      const width = Math.max(1, Math.round(plan.width * attempt.scale));
      const height = Math.max(1, Math.round(plan.height * attempt.scale));
      const blob = await drawAndEncode(bitmap, width, height, attempt, env);
      // A browser that cannot write this type gives PNG instead: try the next.
      if (!blob || blob.type !== attempt.type) continue;
      if (!fitsImageLimit(blob.size)) continue;
      return { ok: true, image: { mimeType: attempt.type, data: await readBase64(blob, env), width, height, name, changed: true } };
    }
    return { ok: false, error: refusalText(name, `too large even at low quality (the limit is ${formatBytes(MAX_IMAGE_BYTES)})`) };
  } finally {
    bitmap.close?.();
  }
}

function drawAndEncode(bitmap, width, height, { type, quality }, env) {
  const canvas = env.document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (!ctx) return Promise.resolve(null);
  if (type === "image/jpeg") {
    // JPEG has no transparency: what was transparent becomes white, not black.
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
  }
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, width, height);
  return new Promise((resolve) => canvas.toBlob(resolve, type, quality));
}

/** The base64 of a blob, without the data: prefix. */
function readBase64(blob, env) {
  return new Promise((resolve, reject) => {
    const reader = new env.FileReader();
    reader.onload = () => {
      const url = String(reader.result ?? "");
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.onerror = () => reject(reader.error ?? new Error("read failed"));
    reader.readAsDataURL(blob);
  });
}
