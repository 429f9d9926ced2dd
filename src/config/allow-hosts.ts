import { z } from 'zod';
import { allowEntryKind } from '../net/address-guard.ts';

/**
 * Addresses a caller-named or listed target may have although not public (an internal CMS, a test edge):
 * exact host names, IP addresses (four-part decimal IPv4, or IPv6) and CIDRs, each checked as the address
 * guard reads it, so a typo is a config error naming the entry rather than an exception that never matches.
 */
export const allowHostsSchema = z
  .array(
    z.string().superRefine((entry, ctx) => {
      const kind = allowEntryKind(entry);
      if (typeof kind === 'object') ctx.addIssue({ code: 'custom', message: kind.invalid });
    }),
  )
  .default([]);
