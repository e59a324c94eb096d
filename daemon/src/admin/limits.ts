import { DEFAULT_STORE_LIMITS } from '@gojinn/store';

/** The admin API's limits (docs/admin-api.md, "Limits"). */
export interface AdminLimits {
  /** Largest request body of every route but publish (a signed revocation record is at most 4 KiB). */
  maxBodyBytes: number;
  /**
   * Largest `POST /v1/modules` body: the module and manifest, base64 in JSON. Size it with
   * `publishBodyBytes(maxModuleBytes, maxManifestBytes)` for the node's own limits.
   */
  maxPublishBytes: number;
  /** Whole request (headers and body) must arrive within this many ms. */
  requestTimeoutMs: number;
  /** Headers must arrive within this many ms. */
  headersTimeoutMs: number;
  /** Most entries one audit, modules or receipts page returns. */
  maxPageSize: number;
  /** Most audit entries one `GET /v1/receipts` request reads while looking for receipts. */
  maxReceiptScan: number;
}

/** Room for JSON punctuation and field names around the two base64 strings. */
const PUBLISH_ENVELOPE_BYTES = 1024;

/** The publish body that carries a module and manifest at these sizes: base64 of each, plus the JSON around them. */
export function publishBodyBytes(maxModuleBytes: number, maxManifestBytes: number): number {
  const base64 = (n: number): number => Math.ceil(n / 3) * 4;
  return base64(maxModuleBytes) + base64(maxManifestBytes) + PUBLISH_ENVELOPE_BYTES;
}

export const DEFAULT_ADMIN_LIMITS: Readonly<AdminLimits> = Object.freeze({
  maxBodyBytes: 64 * 1024,
  maxPublishBytes: publishBodyBytes(DEFAULT_STORE_LIMITS.maxBlobBytes, DEFAULT_STORE_LIMITS.maxManifestBytes),
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  maxPageSize: 1000,
  maxReceiptScan: 10_000,
});

/** Default admin address (the config's `admin.listen` default): loopback only. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';
export const DEFAULT_ADMIN_PORT = 8081;
