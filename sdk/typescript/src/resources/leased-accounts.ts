// `layers.leasedAccounts`: request accounts, poll the request, list leases, release one.

import { LayersError, RateLimitError, WaitTimeoutError } from "../errors.js";
import { randomUUID } from "../random-uuid.js";
import {
  type RequestOptions,
  type Transport,
  type WithRequestId,
  rateLimitPauseMs,
  sleep,
  withRequestId,
} from "../transport.js";
import type {
  LeaseRequest,
  LeaseRequestAccepted,
  LeaseRequestParams,
  LeasedAccount,
  LeasedAccountPage,
  LeasedAccountStatus,
  ReleaseResult,
} from "../types.js";

export interface LeaseRequestOptions extends RequestOptions {
  /**
   * Same key + same body replays the first answer instead of queueing a second request. When
   * omitted the SDK generates one (a UUID) and reuses it across its own retries.
   */
  idempotencyKey?: string | undefined;
}

export interface GetRequestOptions extends RequestOptions {
  /** Read through the project's route (404 when the request belongs to another project). */
  projectId?: string | undefined;
}

export interface WaitForRequestOptions extends GetRequestOptions {
  /** Give up after this long (default 120 000 ms) with `WaitTimeoutError` carrying the last state. */
  timeoutMs?: number | undefined;
  /** First pause between polls (default 1 000 ms); it grows by half each poll, up to 10 s. */
  pollIntervalMs?: number | undefined;
}

export interface ListParams {
  /** Only this project's leases (its own route); otherwise the whole organization's. */
  projectId?: string | undefined;
  /** `assigned` (default) or `disconnected`. */
  status?: LeasedAccountStatus | undefined;
  /** Page size, 1-200 (the server's default is 50); iteration still covers every page. */
  limit?: number | undefined;
}

export interface ReleaseParams {
  socialAccountId: string;
  /** Free-form note stored on the audit log. */
  reason?: string | undefined;
}

export const DEFAULT_WAIT_TIMEOUT_MS = 120_000;
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
const MAX_POLL_INTERVAL_MS = 10_000;

export class LeasedAccounts {
  constructor(private readonly transport: Transport) {}

  /** Ask for warmed accounts in a niche (202); they are assigned asynchronously. */
  async request(
    params: LeaseRequestParams,
    options: LeaseRequestOptions = {},
  ): Promise<WithRequestId<LeaseRequestAccepted>> {
    const { idempotencyKey, ...requestOptions } = options;
    const result = await this.transport.call<LeaseRequestAccepted>({
      method: "POST",
      path: `/v1/projects/${segment(params.projectId)}/leased-accounts/request`,
      body: params,
      idempotencyKey: idempotencyKey ?? randomUUID(),
      options: requestOptions,
    });
    return withRequestId(result.data, result.requestId);
  }

  /** Read a lease request, organization-wide or through its project's route. */
  async getRequest(requestId: string, options: GetRequestOptions = {}): Promise<WithRequestId<LeaseRequest>> {
    return (await this.readRequest(requestId, options, undefined)).request;
  }

  /**
   * Poll a lease request until it leaves `requested` (`assigned`, `partial`, `rejected`, or any
   * status this SDK does not know yet), pausing longer each time; when a poll spends the last call
   * of the rate-limit window, or is answered 429, the next waits for the window to reset.
   */
  async waitForRequest(requestId: string, options: WaitForRequestOptions = {}): Promise<WithRequestId<LeaseRequest>> {
    const { timeoutMs = DEFAULT_WAIT_TIMEOUT_MS, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS, ...rest } = options;
    const deadlineAt = Date.now() + timeoutMs;
    let interval = pollIntervalMs;
    let last: WithRequestId<LeaseRequest> | null = null;
    for (;;) {
      let pause = interval;
      try {
        const read = await this.readRequest(requestId, rest, deadlineAt);
        last = read.request;
        if (last.status !== "requested") {
          return last;
        }
        pause = Math.max(pause, read.rateLimitPauseMs);
      } catch (error) {
        if (!(error instanceof RateLimitError)) {
          throw error;
        }
        pause = Math.max(pause, (error.retryAfter ?? 0) * 1000);
      }
      const remaining = deadlineAt - Date.now();
      if (remaining <= 0 || pause > remaining) {
        throw new WaitTimeoutError<WithRequestId<LeaseRequest>>(
          `Lease request ${requestId} was still ${last?.status ?? "unread"} after ${timeoutMs} ms.`,
          last,
          { requestId: last?._requestId ?? null },
        );
      }
      await sleep(pause, rest.signal);
      interval = Math.min(interval * 1.5, MAX_POLL_INTERVAL_MS);
    }
  }

  /**
   * Leased accounts, newest first, fetched page by page as the loop asks for them
   * (`for await (const account of layers.leasedAccounts.list(...))`); nothing is sent before.
   */
  list(params: ListParams = {}, options: RequestOptions = {}): LeasedAccountList {
    return new LeasedAccountList(this.transport, params, options);
  }

  /** Give a leased account back; billing stops and its queued posts are canceled. */
  async release(params: ReleaseParams, options: RequestOptions = {}): Promise<WithRequestId<ReleaseResult>> {
    const result = await this.transport.call<ReleaseResult>({
      method: "DELETE",
      path: `/v1/leased-accounts/${segment(params.socialAccountId)}`,
      ...(params.reason === undefined ? {} : { body: { reason: params.reason } }),
      options,
    });
    return withRequestId(result.data, result.requestId);
  }

  private async readRequest(
    requestId: string,
    options: GetRequestOptions,
    deadlineAt: number | undefined,
  ): Promise<{ request: WithRequestId<LeaseRequest>; rateLimitPauseMs: number }> {
    const { projectId, ...requestOptions } = options;
    const path =
      projectId === undefined
        ? `/v1/leased-accounts/requests/${segment(requestId)}`
        : `/v1/projects/${segment(projectId)}/leased-accounts/requests/${segment(requestId)}`;
    const result = await this.transport.call<LeaseRequest>({
      method: "GET",
      path,
      options: requestOptions,
      ...(deadlineAt === undefined ? {} : { deadlineAt }),
    });
    return { request: withRequestId(result.data, result.requestId), rateLimitPauseMs: rateLimitPauseMs(result.headers) };
  }
}

/** A lazy, re-iterable view of every page of leased accounts. */
export class LeasedAccountList implements AsyncIterable<WithRequestId<LeasedAccount>> {
  constructor(
    private readonly transport: Transport,
    private readonly params: ListParams,
    private readonly options: RequestOptions,
  ) {}

  /** Each page as it comes (items plus `nextCursor`), following `nextCursor` to the end. */
  async *pages(): AsyncGenerator<WithRequestId<LeasedAccountPage>, void, undefined> {
    const { projectId, status, limit } = this.params;
    const path =
      projectId === undefined ? "/v1/leased-accounts" : `/v1/projects/${segment(projectId)}/leased-accounts`;
    let cursor: string | null = null;
    do {
      const result: { data: LeasedAccountPage; requestId: string | null } =
        await this.transport.call<LeasedAccountPage>({
          method: "GET",
          path,
          query: { status, limit, cursor },
          options: this.options,
        });
      const page = result.data;
      if (!Array.isArray(page.items)) {
        throw new LayersError("The list response has no items.", { requestId: result.requestId });
      }
      for (const item of page.items) {
        withRequestId(item, result.requestId);
      }
      yield withRequestId(page, result.requestId);
      cursor = page.nextCursor ?? null;
    } while (cursor !== null);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<WithRequestId<LeasedAccount>, void, undefined> {
    for await (const page of this.pages()) {
      yield* page.items as WithRequestId<LeasedAccount>[];
    }
  }

  /** Every item of every page, in order, as one array. */
  async toArray(): Promise<WithRequestId<LeasedAccount>[]> {
    const items: WithRequestId<LeasedAccount>[] = [];
    for await (const item of this) {
      items.push(item);
    }
    return items;
  }
}

/** A path segment: ids are opaque to the SDK, so they are escaped, never interpreted. */
export function segment(id: string): string {
  return encodeURIComponent(id);
}
