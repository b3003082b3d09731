import { test } from "node:test";
import assert from "node:assert/strict";
import { checkPaired, closeNeedsAuthCheck, guessDeviceName, normalizePairCode, pairErrorText, PAIR_CODE_PATTERN } from "../auth.js";
import { ApiError } from "../api.js";

const CODE = "abcdefghijklmnopqrstuvwxyz".slice(0, 22) + "2345";

test("a pairing code is lowercased and loses its spaces and dashes", () => {
  assert.equal(normalizePairCode("ABCD-EFGH ijkl"), "abcdefghijkl");
  assert.equal(normalizePairCode("  abcd\tefgh\n"), "abcdefgh");
  assert.equal(normalizePairCode("ab–cd"), "abcd", "a typographic dash from a chat app");
  assert.equal(normalizePairCode(CODE.toUpperCase()), CODE);
  assert.match(normalizePairCode(CODE), PAIR_CODE_PATTERN);
  assert.equal(normalizePairCode(""), "");
  assert.equal(normalizePairCode(undefined), "");
});

test("a pasted pairing link gives its code", () => {
  assert.equal(normalizePairCode(`https://box.tail.ts.net/#pair=${CODE.toUpperCase()}`), CODE);
  assert.equal(normalizePairCode("#pair=ab%20cd"), "abcd");
  assert.equal(normalizePairCode("#pair=%E0%A4%A"), "%e0%a4%a", "a broken escape stays as typed");
});

test("a revoked socket or a failed handshake asks whether the device is still paired", () => {
  assert.equal(closeNeedsAuthCheck({ code: 1008, reason: "revoked", opened: true }), true);
  assert.equal(closeNeedsAuthCheck({ code: 1006, reason: "", opened: false }), true);
});

test("other closes keep the existing behaviour without asking", () => {
  assert.equal(closeNeedsAuthCheck({ code: 1006, reason: "dropped", opened: true }), false, "a network drop of an open socket");
  assert.equal(closeNeedsAuthCheck({ code: 1008, reason: "", opened: true }), false, "1008 for a protocol violation");
  for (const code of [1000, 1001, 1011, 1012, 1013, 4000]) {
    assert.equal(closeNeedsAuthCheck({ code, reason: "", opened: true }), false, String(code));
  }
});

test("GET /auth/device: 401 means unpaired, anything else carries on", async () => {
  assert.equal(await checkPaired({ device: async () => ({ auth: "token", device: { id: "x" } }) }), "paired");
  assert.equal(await checkPaired({ device: async () => ({ auth: "none" }) }), "paired");
  assert.equal(await checkPaired({ device: async () => { throw new ApiError(401, "unauthorized"); } }), "unpaired");
  assert.equal(await checkPaired({ device: async () => { throw new ApiError(0, "network"); } }), "unknown");
  assert.equal(await checkPaired({ device: async () => { throw new ApiError(404, "not_found"); } }), "unknown", "a server without /auth/device");
  assert.equal(await checkPaired({ device: async () => { throw new ApiError(502, "api_unavailable"); } }), "unknown");
});

test("pairing errors: wrong code, too many attempts and network failures are told apart", () => {
  assert.match(pairErrorText(new ApiError(401, "invalid_code")), /wrong, expired or already used/);
  assert.match(pairErrorText(new ApiError(429, "too_many_attempts")), /Too many attempts\. Wait a minute/);
  assert.match(pairErrorText(new ApiError(429, null)), /Wait a minute/, "a 429 without a body");
  assert.match(pairErrorText(new ApiError(0, "network")), /Cannot reach the server/);
  assert.match(pairErrorText(new ApiError(502, "api_unavailable")), /nginx answered 502/);
});

test("the device name is guessed from the user agent", () => {
  assert.equal(guessDeviceName("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"), "iPhone (Safari)");
  assert.equal(guessDeviceName("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"), "Android phone (Chrome)");
  assert.equal(guessDeviceName("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0"), "Mac (Firefox)");
  assert.equal(guessDeviceName("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0"), "Windows PC (Edge)");
  assert.equal(guessDeviceName("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"), "Linux PC (Chrome)");
  assert.equal(guessDeviceName(""), "Laptop");
  assert.equal(guessDeviceName(undefined), "Laptop");
});
