// Public request and response types, derived from the generated contract types (src/generated).

import type { components, operations } from "./generated/openapi.js";

type Schemas = components["schemas"];

/**
 * A string union that still accepts values this SDK does not know yet: the service may add
 * statuses and reasons, and clients must tolerate them.
 */
type Open<T extends string> = T | (string & {});

type Widen<T, K extends keyof T> = Omit<T, K> & {
  [P in K]: null extends T[P] ? Open<NonNullable<T[P]> & string> | null : Open<T[P] & string>;
};

/** What kind of account is wanted: vertical, and optionally audience, BCP-47 language, ISO geo codes. */
export type Niche = Schemas["Niche"];

/** The body of a lease request: `projectId`, `count`, `niche`, and optional `target`, `note`, `requestId`. */
export type LeaseRequestParams = Schemas["LeaseRequestBody"];

/** Known lease-request statuses; `requested` until assignment ends it. */
export type LeaseRequestStatus = Schemas["LeaseRequestView"]["status"];

/** The 202 answer to a lease request. */
export type LeaseRequestAccepted = Widen<Schemas["LeaseRequestAccepted"], "status">;

/** A lease request as `getRequest` reads it. */
export type LeaseRequest = Widen<Schemas["LeaseRequestView"], "status">;

/** A leased account as listed. */
export type LeasedAccount = Widen<Schemas["LeasedAccountView"], "status" | "disconnectedReason">;

/** One page of the list. */
export interface LeasedAccountPage {
  items: LeasedAccount[];
  nextCursor: string | null;
}

/** Which leases to list: `assigned` (default) or `disconnected`. */
export type LeasedAccountStatus = NonNullable<
  NonNullable<operations["listLeasedAccounts"]["parameters"]["query"]>["status"]
>;

/** The answer to a release. */
export type ReleaseResult = Widen<Schemas["ReleaseResult"], "status" | "disconnectedReason">;

/** The answer to a revoke. */
export type RevokeResult = Widen<Schemas["RevokeResult"], "status" | "disconnectedReason">;
