// Access control, the page's side (issue 9): pure helpers, no DOM and no fetch.
//
// The page never sees its credential: `POST /auth/pair` sets an HttpOnly cookie. What the page
// knows is only that an answer was 401 (api.js emits "unauthorized"), and then it shows the
// pairing screen. In AMARRE_AUTH=none mode no 401 ever comes and nothing here is used.

/** What `amarre pair` prints: 26 chars of [a-z2-7]. Forms lowercase and drop spaces and dashes. */
export const PAIR_CODE_PATTERN = /^[a-z2-7]{26}$/;

/**
 * The code as the server wants it: lowercased, without spaces or dashes. A pasted pairing
 * link ("https://…/#pair=<code>") gives its code.
 */
export function normalizePairCode(text) {
  let s = String(text ?? "");
  const link = /#pair=([^&\s]*)/.exec(s);
  if (link) s = safeDecode(link[1]);
  return s.toLowerCase().replace(/[\s\-\u2010-\u2015\u2212]+/g, "");
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

/**
 * The WebSocket closed: should the page ask `GET /auth/device` whether it is still paired?
 * Yes when the server revoked this device (1008 "revoked"), or when the handshake failed
 * (a browser shows a refused handshake, 401 included, only as a 1006 close before "open").
 * @param {{code: number, reason?: string, opened?: boolean}} close
 */
export function closeNeedsAuthCheck({ code, reason, opened }) {
  if (code === 1008 && reason === "revoked") return true;
  return code === 1006 && !opened;
}

/**
 * Asks the server whether this device is still paired.
 *   "unpaired": 401, the pairing screen is due (api.js has already announced it);
 *   "paired":   the device is known, or the server has no access control (`{"auth":"none"}`);
 *   "unknown":  the network failed or the server does not know /auth/device: carry on as before.
 * @param {{device: () => Promise<object>}} api
 */
export async function checkPaired(api) {
  try {
    await api.device();
    return "paired";
  } catch (e) {
    return e?.status === 401 ? "unpaired" : "unknown";
  }
}

/** The sentence the pairing form shows for a failed `POST /auth/pair`. */
export function pairErrorText(error) {
  const status = error?.status;
  if (status === 401 || error?.code === "invalid_code") {
    return "That code is wrong, expired or already used. Run “amarre pair” again for a new one.";
  }
  if (status === 429 || error?.code === "too_many_attempts") return "Too many attempts. Wait a minute, then try again.";
  if (status === 0 || error?.code === "network") return "Cannot reach the server. Check the connection and try again.";
  return error?.message || "Pairing failed.";
}

/** A name for this device in `amarre devices`, guessed from the user agent ("iPhone", "Mac"…). */
export function guessDeviceName(userAgent) {
  const ua = String(userAgent ?? "");
  const platform =
    /iPhone|iPod/.test(ua) ? "iPhone"
    : /iPad/.test(ua) ? "iPad"
    : /Android/.test(ua) ? (/Mobile/.test(ua) ? "Android phone" : "Android tablet")
    : /CrOS/.test(ua) ? "Chromebook"
    : /Macintosh|Mac OS X/.test(ua) ? "Mac"
    : /Windows/.test(ua) ? "Windows PC"
    : /Linux/.test(ua) ? "Linux PC"
    : /Mobile/.test(ua) ? "Phone"
    : "Laptop";
  const browser =
    /Edg\//.test(ua) ? "Edge"
    : /Firefox\/|FxiOS/.test(ua) ? "Firefox"
    : /Chrome\/|CriOS/.test(ua) ? "Chrome"
    : /Safari\//.test(ua) ? "Safari"
    : null;
  return browser ? `${platform} (${browser})` : platform;
}
