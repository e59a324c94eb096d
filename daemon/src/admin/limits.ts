/** The admin API's limits (docs/admin-api.md, "Limits"). */
export interface AdminLimits {
  /** Largest request body (a signed revocation record is at most 4 KiB). */
  maxBodyBytes: number;
  /** Whole request (headers and body) must arrive within this many ms. */
  requestTimeoutMs: number;
  /** Headers must arrive within this many ms. */
  headersTimeoutMs: number;
  /** Most entries one audit or modules page returns. */
  maxPageSize: number;
}

export const DEFAULT_ADMIN_LIMITS: Readonly<AdminLimits> = Object.freeze({
  maxBodyBytes: 64 * 1024,
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  maxPageSize: 1000,
});

/** Default admin address (the config's `admin.listen` default): loopback only. */
export const DEFAULT_ADMIN_HOST = '127.0.0.1';
export const DEFAULT_ADMIN_PORT = 8081;
