import { test } from "node:test";
import assert from "node:assert/strict";
import {
  MAX_IMAGE_BYTES, MAX_IMAGES, MAX_TOTAL_BYTES, QUALITIES, base64Length, checkBudget, encodingAttempts, fitWithin,
  fitsImageLimit, imageDataUrl, imagePlan, messageBytes, prepareImage,
} from "../images.js";

const MiB = 1024 * 1024;

test("the long side is brought to 2000 px, the ratio kept, never upscaled", () => {
  assert.deepEqual(fitWithin(3000, 1500), { width: 2000, height: 1000, scaled: true });
  assert.deepEqual(fitWithin(1500, 3000), { width: 1000, height: 2000, scaled: true });
  assert.deepEqual(fitWithin(4032, 3024), { width: 2000, height: 1500, scaled: true });
  assert.deepEqual(fitWithin(2000, 2000), { width: 2000, height: 2000, scaled: false });
  assert.deepEqual(fitWithin(640, 480), { width: 640, height: 480, scaled: false });
  assert.deepEqual(fitWithin(100000, 10), { width: 2000, height: 1, scaled: true }, "at least one pixel");
});

test("base64 sizes: 4 characters per 3 bytes, padded", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 6, 7].map(base64Length), [0, 4, 4, 4, 8, 8, 12]);
  assert.equal(fitsImageLimit(MAX_IMAGE_BYTES * 3 / 4), true);
  assert.equal(fitsImageLimit(MAX_IMAGE_BYTES * 3 / 4 + 1), false);
});

test("a small image of a supported type is sent as it is (a GIF keeps its animation)", () => {
  for (const type of ["image/png", "image/jpeg", "image/webp", "image/gif"]) {
    assert.deepEqual(imagePlan({ type, width: 1200, height: 800, size: 900_000 }), { action: "keep" }, type);
  }
  assert.deepEqual(imagePlan({ type: "image/png", width: 2000, height: 1200, size: 3 * MiB }), { action: "keep" });
});

test("other types are refused with a reason", () => {
  for (const type of ["image/heic", "image/svg+xml", "application/pdf", ""]) {
    const plan = imagePlan({ type, width: 10, height: 10, size: 10 });
    assert.equal(plan.action, "refuse", type);
    assert.match(plan.reason, /PNG, JPEG, WebP or GIF/);
  }
  assert.equal(imagePlan({ type: "image/png", width: 0, height: 0, size: 10 }).action, "refuse");
});

test("too many pixels: drawn at the fitted size; too many bytes: encoded again at the same size", () => {
  const big = imagePlan({ type: "image/jpeg", width: 4032, height: 3024, size: 2 * MiB });
  assert.equal(big.action, "encode");
  assert.deepEqual([big.width, big.height], [2000, 1500]);
  const heavy = imagePlan({ type: "image/png", width: 1800, height: 1200, size: 4 * MiB });
  assert.equal(heavy.action, "encode");
  assert.deepEqual([heavy.width, heavy.height], [1800, 1200]);
  const gif = imagePlan({ type: "image/gif", width: 2500, height: 500, size: 100_000 });
  assert.equal(gif.action, "encode", "a GIF too large becomes a still image");
  assert.deepEqual(gif.attempts[0], { type: "image/png", scale: 1 });
});

test("encodings tried: the file's own format first, JPEG at falling quality, then smaller", () => {
  const jpeg = encodingAttempts("image/jpeg");
  assert.deepEqual(jpeg.slice(0, QUALITIES.length).map((a) => [a.type, a.quality, a.scale]), QUALITIES.map((q) => ["image/jpeg", q, 1]));
  assert.ok(jpeg.slice(QUALITIES.length).every((a) => a.type === "image/jpeg" && a.scale < 1));
  const qualities = jpeg.filter((a) => a.scale === 1).map((a) => a.quality);
  assert.deepEqual(qualities, [...qualities].sort((a, b) => b - a));
  assert.equal(encodingAttempts("image/webp")[0].type, "image/webp");
  assert.equal(encodingAttempts("image/webp")[QUALITIES.length].type, "image/jpeg", "JPEG after WebP");
  assert.deepEqual(encodingAttempts("image/png")[0], { type: "image/png", scale: 1 }, "screenshots stay lossless when they can");
  assert.equal(encodingAttempts("image/png")[1].type, "image/jpeg");
});

test("the images of one message stay under the count and the total", () => {
  const img = (n) => ({ data: "A".repeat(n) });
  assert.deepEqual(checkBudget([], 1000), { ok: true });
  assert.equal(checkBudget(Array.from({ length: MAX_IMAGES }, () => img(4)), 4).ok, false);
  const full = [img(4 * MiB)];
  assert.equal(checkBudget(full, 4 * MiB).ok, true, "two images of 4 MiB fit (8 MiB together)");
  const over = checkBudget([...full, img(4 * MiB)], 1);
  assert.equal(over.ok, false);
  assert.match(over.reason, /add up to 8\.0 MB/);
  assert.equal(checkBudget([img(5 * MiB)], 5 * MiB).ok, false, "two of the largest do not");
  // The agent repeats the images in its own records (pi: message_start, message_end and
  // agent_end), each of which must fit the server's 16 MiB record limit with the run's text.
  assert.ok(2 * MAX_TOTAL_BYTES <= 16 * MiB, "room in the agent's records for the images and the run");
});

test("a message's size is its UTF-8 JSON", () => {
  assert.equal(messageBytes({ m: "é" }), '{"m":"é"}'.length + 1);
});

test("only raster images with base64 data are shown, as data: URLs", () => {
  assert.equal(imageDataUrl({ type: "image", data: "iVBORw0KGgo=", mimeType: "image/png" }), "data:image/png;base64,iVBORw0KGgo=");
  assert.equal(imageDataUrl({ type: "image", source: { type: "base64", media_type: "image/jpeg", data: "/9j/4A==" } }), "data:image/jpeg;base64,/9j/4A==");
  assert.equal(imageDataUrl({ type: "image", data: "PHN2Zz4=", mimeType: "image/svg+xml" }), null, "never SVG");
  assert.equal(imageDataUrl({ type: "image", data: 'x" onerror="alert(1)', mimeType: "image/png" }), null);
  assert.equal(imageDataUrl({ type: "image", data: "iVBO\nRw==", mimeType: "image/png" }), null);
  assert.equal(imageDataUrl({ type: "image", data: "", mimeType: "image/png" }), null);
  assert.equal(imageDataUrl({ type: "image", data: 5, mimeType: "image/png" }), null);
  assert.equal(imageDataUrl(null), null);
});

// --- prepareImage with a fake browser ---------------------------------------------------------

function fakeEnv({ width, height, encoded = {}, decodeFails = false } = {}) {
  const drawn = [];
  const env = {
    createImageBitmap: async () => {
      if (decodeFails) throw new Error("bad image");
      return { width, height, close() { env.closed = true; } };
    },
    document: {
      createElement: () => {
        const canvas = {
          width: 0, height: 0,
          getContext: () => ({ fillRect() {}, drawImage() {} }),
          toBlob(cb, type, quality) {
            drawn.push([canvas.width, canvas.height, type, quality]);
            const answer = encoded[`${type}@${quality ?? ""}`] ?? encoded[type];
            const size = typeof answer === "number" ? answer : answer?.size ?? 1000;
            const blobType = answer?.type ?? type;
            cb({ type: blobType, size, content: `${type}:${quality}` });
          },
        };
        return canvas;
      },
    },
    FileReader: class {
      readAsDataURL(blob) {
        this.result = `data:${blob.type};base64,${Buffer.from(blob.content ?? "x").toString("base64")}`;
        queueMicrotask(() => this.onload());
      }
    },
  };
  return { env, drawn };
}

test("prepareImage: a small file is read as it is", async () => {
  const { env, drawn } = fakeEnv({ width: 300, height: 200 });
  const file = { name: "shot.png", type: "image/png", size: 5000, content: "png-bytes" };
  const result = await prepareImage(file, env);
  assert.equal(result.ok, true);
  assert.deepEqual(result.image, {
    mimeType: "image/png", data: Buffer.from("png-bytes").toString("base64"), width: 300, height: 200, name: "shot.png", changed: false,
  });
  assert.deepEqual(drawn, [], "not drawn again");
  assert.equal(env.closed, true, "the bitmap is released");
});

test("prepareImage: a large photo is scaled, and encoded at the first quality that fits", async () => {
  const tooBig = MAX_IMAGE_BYTES; // raw bytes: its base64 is over the limit
  const { env, drawn } = fakeEnv({ width: 4000, height: 3000, encoded: { "image/jpeg@0.9": tooBig, "image/jpeg@0.8": tooBig, "image/jpeg@0.7": 900_000 } });
  const result = await prepareImage({ name: "photo.jpg", type: "image/jpeg", size: 6 * MiB }, env);
  assert.equal(result.ok, true);
  assert.deepEqual(drawn, [[2000, 1500, "image/jpeg", 0.9], [2000, 1500, "image/jpeg", 0.8], [2000, 1500, "image/jpeg", 0.7]]);
  assert.equal(result.image.mimeType, "image/jpeg");
  assert.deepEqual([result.image.width, result.image.height, result.image.changed], [2000, 1500, true]);
});

test("prepareImage: a browser that cannot write WebP gives PNG: JPEG is used instead", async () => {
  const { env, drawn } = fakeEnv({ width: 2400, height: 1200, encoded: { "image/webp": { type: "image/png", size: 100 } } });
  const result = await prepareImage({ name: "a.webp", type: "image/webp", size: 3 * MiB }, env);
  assert.equal(result.ok, true);
  assert.equal(result.image.mimeType, "image/jpeg");
  assert.equal(drawn.filter((d) => d[2] === "image/webp").length, QUALITIES.length);
});

test("prepareImage: refusals say which file and why", async () => {
  const heic = await prepareImage({ name: "IMG_1.heic", type: "image/heic", size: 10 }, fakeEnv({ width: 1, height: 1 }).env);
  assert.deepEqual(heic, { ok: false, error: "IMG_1.heic: not a supported image (PNG, JPEG, WebP or GIF)." });
  const broken = await prepareImage({ name: "x.png", type: "image/png", size: 10 }, fakeEnv({ decodeFails: true }).env);
  assert.deepEqual(broken, { ok: false, error: "x.png: the image could not be read." });
  const huge = fakeEnv({ width: 3000, height: 3000, encoded: { "image/png": MAX_IMAGE_BYTES, "image/jpeg": MAX_IMAGE_BYTES } });
  const refused = await prepareImage({ type: "image/png", size: 30 * MiB }, huge.env);
  assert.equal(refused.ok, false);
  assert.match(refused.error, /^Pasted image: too large even at low quality/);
});
