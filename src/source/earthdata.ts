/** Bearer tokens (NASA Earthdata Login) for HTTPS sources, sent only to the hosts they are meant for. */
import type { FetchLike } from "./http.js";

/**
 * Default hosts that receive an Earthdata Login token: Earthdata Login itself and the DAACs' cloud and
 * on-premises download hosts. `*.` entries match any subdomain.
 */
export const DEFAULT_EARTHDATA_HOSTS: readonly string[] = [
  "urs.earthdata.nasa.gov",
  "*.earthdata.nasa.gov",
  "*.earthdatacloud.nasa.gov",
];

/** Default largest number of redirects followed for one request. */
export const DEFAULT_MAX_REDIRECTS = 10;

/** Options of {@link withBearerToken}. */
export interface BearerTokenOptions {
  /** The token (an Earthdata Login user token). Never logged, never put in a message. */
  token: string;
  /**
   * Host names that receive the token: exact names, or `*.example.org` for any subdomain of it. Matched
   * on the host name only (any port). Default {@link DEFAULT_EARTHDATA_HOSTS}.
   */
  hosts?: readonly string[];
  /** Redirects followed per request; default {@link DEFAULT_MAX_REDIRECTS}. */
  maxRedirects?: number;
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Wraps `fetch` so that requests carry `Authorization: Bearer <token>` when, and only when, they go to
 * an allowed host over HTTPS (or plain HTTP on loopback, for tests and local proxies). Redirects are
 * followed here, not by `fetch`: a hop to another host than the one first asked carries neither the
 * token nor any other `Authorization` or `Cookie` header, even when that host is on the list (a DAAC
 * redirects to presigned S3 URLs, which must not see the token).
 * @example
 * const src = await openHttpSource(url, { fetch: withBearerToken({ token }) });
 */
export function withBearerToken(opts: BearerTokenOptions, transport?: FetchLike): FetchLike {
  const send = transport ?? ((u: string, init: RequestInit) => fetch(u, init));
  const hosts = (opts.hosts ?? DEFAULT_EARTHDATA_HOSTS).map((h) => h.toLowerCase());
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  return async (url, init) => {
    const first = new URL(url);
    let target = first;
    let method = init.method ?? "GET";
    for (let hop = 0; ; hop++) {
      const headers = new Headers(init.headers);
      if (target.host !== first.host) {
        headers.delete("authorization");
        headers.delete("cookie");
      } else if (tokenAllowed(target, hosts)) {
        headers.set("authorization", `Bearer ${opts.token}`);
      }
      const res = await send(target.href, { ...init, method, headers, redirect: "manual" });
      const location = res.headers.get("location");
      if (!REDIRECT.has(res.status) || location === null || hop >= maxRedirects) return res;
      await res.body?.cancel();
      target = new URL(location, target);
      if (res.status === 303 && method !== "HEAD") method = "GET";
    }
  };
}

/** Whether a URL may receive the token: an allowed host, over HTTPS or loopback HTTP. */
export function tokenAllowed(url: URL, hosts: readonly string[]): boolean {
  const name = url.hostname.toLowerCase();
  const secure = url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(name));
  if (!secure) return false;
  return hosts.some((h) => (h.startsWith("*.") ? name.endsWith(h.slice(1)) : name === h));
}
