// `new Layers({ apiKey, baseURL })`: configuration, and the resources that share one transport.

import { LayersError } from "./errors.js";
import { LeasedAccounts } from "./resources/leased-accounts.js";
import { SocialAccounts } from "./resources/social-accounts.js";
import { type FetchLike, Transport } from "./transport.js";

export const DEFAULT_BASE_URL = "https://api.layers.com";
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RETRIES = 2;

export interface ClientOptions {
  /** Default: the `LAYERS_API_KEY` environment variable. */
  apiKey?: string | undefined;
  /** Default: the `LAYERS_BASE_URL` environment variable, else `https://api.layers.com`. */
  baseURL?: string | undefined;
  /** Retries of a call where a retry cannot act twice (default 2; 0 disables them). */
  maxRetries?: number | undefined;
  /** Time allowed for each HTTP attempt in milliseconds (default 30 000). */
  timeoutMs?: number | undefined;
  /** The `fetch` to use (default: the platform's). */
  fetch?: FetchLike | undefined;
  /**
   * Log each HTTP attempt (method, path, status, request id; never a header, so never the key).
   * Default: on when the `LAYERS_LOG` environment variable is `debug`.
   */
  debug?: boolean | undefined;
  /** Where debug lines go (default: `console.error`). */
  logger?: ((line: string) => void) | undefined;
}

export class Layers {
  readonly leasedAccounts: LeasedAccounts;
  readonly socialAccounts: SocialAccounts;
  readonly baseURL: string;

  constructor(options: ClientOptions = {}) {
    const apiKey = options.apiKey ?? env("LAYERS_API_KEY");
    if (!apiKey) {
      throw new LayersError("No API key: pass { apiKey } or set the LAYERS_API_KEY environment variable.");
    }
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new LayersError("maxRetries must be a whole number, 0 or more.");
    }
    const platformFetch = (globalThis as { fetch?: FetchLike }).fetch;
    const fetchImpl = options.fetch ?? platformFetch;
    if (fetchImpl === undefined) {
      throw new LayersError("No fetch: use Node 18 or later, or pass { fetch }.");
    }
    const debug = options.debug ?? env("LAYERS_LOG")?.toLowerCase() === "debug";
    const logger = options.logger ?? ((line: string) => console.error(line));
    this.baseURL = (options.baseURL || env("LAYERS_BASE_URL") || DEFAULT_BASE_URL).replace(/\/+$/, "");
    const transport = new Transport({
      apiKey,
      baseURL: this.baseURL,
      maxRetries,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      fetch: options.fetch ?? ((url, init) => fetchImpl(url, init)),
      log: debug ? logger : null,
    });
    this.leasedAccounts = new LeasedAccounts(transport);
    this.socialAccounts = new SocialAccounts(transport);
  }
}

function env(name: string): string | undefined {
  const process = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return process?.env?.[name];
}
