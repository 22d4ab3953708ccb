// The Layers partner API SDK: `import { Layers } from "@layers/sdk"`.

export { Layers, type ClientOptions, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS } from "./client.js";
export {
  APIConnectionError,
  APIStatusError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BillingExhaustedError,
  ConflictError,
  InternalServerError,
  LayersError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServiceUnavailableError,
  ValidationError,
  type ValidationIssue,
  WaitTimeoutError,
} from "./errors.js";
export type {
  GetRequestOptions,
  LeaseRequestOptions,
  LeasedAccountList,
  LeasedAccounts,
  ListParams,
  ReleaseParams,
  WaitForRequestOptions,
} from "./resources/leased-accounts.js";
export type { RevokeParams, SocialAccounts } from "./resources/social-accounts.js";
export type { FetchLike, RequestOptions, WithRequestId } from "./transport.js";
export type * from "./types.js";
export type { components, operations, paths } from "./generated/openapi.js";
export { VERSION } from "./version.js";
