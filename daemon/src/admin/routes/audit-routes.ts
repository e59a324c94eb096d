import type { JsonValue } from '@gojinn/manifest';
import type { AuditEntry } from '../../audit/index.ts';
import { pageLimit, pageResult, parseWhole, type RouteSpec } from '../http-util.ts';
import type { AdminLimits } from '../limits.ts';
import type { AdminServerOptions } from '../options.ts';

/** The audit entry kind the daemon gives invocation receipts. */
export const RECEIPT_KIND = 'receipt';

/** GET /v1/audit, GET /v1/audit/verify, GET /v1/receipts. */
export function auditRoutes(options: AdminServerOptions, limits: AdminLimits): RouteSpec[] {
  const { audit } = options;
  const afterOf = (url: URL): number | undefined => {
    const text = url.searchParams.get('after');
    return text === null ? undefined : parseWhole(text, 'after');
  };
  return [
    {
      method: 'GET',
      path: '/v1/audit',
      run: async ({ url }) => {
        const after = afterOf(url);
        const page = await audit.list({
          ...(after === undefined ? {} : { after }),
          limit: pageLimit(url, limits.maxPageSize),
        });
        return pageResult('entries', page.items as unknown as JsonValue[], page.next);
      },
    },
    {
      method: 'GET',
      path: '/v1/audit/verify',
      run: async () => ({
        status: 200,
        body: { ...(await audit.verify()) } as unknown as Record<string, JsonValue>,
      }),
    },
    {
      method: 'GET',
      path: '/v1/receipts',
      // Receipts are audit entries of kind 'receipt' among every other kind: one request reads
      // at most maxReceiptScan entries, and `next` (an audit seq) resumes after the last read.
      run: async ({ url }) => {
        const want = pageLimit(url, limits.maxPageSize);
        const receipts: AuditEntry[] = [];
        let after = afterOf(url);
        let scanned = 0;
        let more = true;
        while (receipts.length < want && scanned < limits.maxReceiptScan && more) {
          const page = await audit.list({
            ...(after === undefined ? {} : { after }),
            limit: Math.min(limits.maxPageSize, limits.maxReceiptScan - scanned),
          });
          for (const entry of page.items) {
            scanned += 1;
            after = entry.seq;
            if (entry.kind === RECEIPT_KIND) receipts.push(entry);
            if (receipts.length === want) break;
          }
          more = page.next !== undefined || page.items.at(-1)?.seq !== after;
          if (page.items.length === 0) more = false;
        }
        const next = more && after !== undefined ? after : undefined;
        return pageResult('receipts', receipts as unknown as JsonValue[], next);
      },
    },
  ];
}
