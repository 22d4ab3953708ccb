// `layers.socialAccounts`: revoke a connected (BYO) account.

import type { RequestOptions, Transport, WithRequestId } from "../transport.js";
import { withRequestId } from "../transport.js";
import type { RevokeResult } from "../types.js";
import { segment } from "./leased-accounts.js";

export interface RevokeParams {
  socialAccountId: string;
  /** Free-form note stored on the audit log. */
  reason?: string | undefined;
}

export class SocialAccounts {
  constructor(private readonly transport: Transport) {}

  /**
   * Disconnect a connected (BYO) account and cancel its queued posts. A leased account is refused
   * with `ConflictError` (`reason: "LEASED_ACCOUNT"`): release it instead.
   */
  async revoke(params: RevokeParams, options: RequestOptions = {}): Promise<WithRequestId<RevokeResult>> {
    const result = await this.transport.call<RevokeResult>({
      method: "DELETE",
      path: `/v1/social-accounts/${segment(params.socialAccountId)}`,
      ...(params.reason === undefined ? {} : { body: { reason: params.reason } }),
      options,
    });
    return withRequestId(result.data, result.requestId);
  }
}
