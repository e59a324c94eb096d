import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ConfigError, configFilePath, isLoopbackHost, loadConfigFile, readAdminToken } from '@gojinn/daemon';
import { GojinnError, isErrorCode } from '@gojinn/errors';
import type { CommandIo } from './command.ts';
import { dataDirectory } from './data-dir.ts';

/**
 * How the CLI talks to a running node's admin API (docs/admin-api.md): the URL comes from
 * `--admin-url`, else $GOJINN_ADMIN_URL, else the `[admin] listen` address of the data
 * directory's config; the token always from `<dataDir>/admin.token` (mode 0600, checked).
 */

/** Longest an admin request may take, connection to last byte (publish of a large module included). */
export const ADMIN_REQUEST_TIMEOUT_MS = 60_000;
/** Largest admin answer read (a full page of 1000 modules or audit entries is well under this). */
export const MAX_ADMIN_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Upload chunk size; progress is reported after each chunk the socket accepted. */
export const UPLOAD_CHUNK_BYTES = 256 * 1024;

export interface AdminTarget {
  /** e.g. http://127.0.0.1:8081 */
  url: string;
  dataDir: string;
}

export interface AdminFlags {
  data?: string | undefined;
  'data-dir'?: string | undefined;
  'admin-url'?: string | undefined;
  config?: string | undefined;
}

/** The `option` entries every admin-API command accepts. */
export const ADMIN_OPTIONS = {
  data: { type: 'string' },
  'data-dir': { type: 'string' },
  'admin-url': { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The lines every admin-API command's usage shows for those options. */
export const ADMIN_OPTIONS_USAGE = `  --data DIR        the node's data directory: its admin.token, and config.toml for the admin
                    address (default: $GOJINN_DATA, else ./.data/node; --data-dir is the same)
  --admin-url URL   the admin API (default: $GOJINN_ADMIN_URL, else the config's [admin] listen)
  --config FILE     the config file (default: $GOJINN_CONFIG, else DIR/config.toml)
  --json            print exactly one JSON object
  -h, --help        this text`;

/** Where the admin API is, from flags, environment and the data dir's config. */
export async function adminTarget(flags: AdminFlags, io: CommandIo): Promise<AdminTarget> {
  const dataFlag = flags.data ?? flags['data-dir'];
  if (dataFlag === '') throw new GojinnError('bad_request', '--data needs a directory');
  const dataDir = dataDirectory(dataFlag, io);
  const explicit =
    flags['admin-url'] ?? (io.env.GOJINN_ADMIN_URL === '' ? undefined : io.env.GOJINN_ADMIN_URL);
  if (explicit !== undefined) return { url: checkedUrl(explicit), dataDir };
  const file = configFilePath({ flag: flags.config, dataDir, env: io.env, cwd: io.cwd });
  let listen;
  try {
    const env = dataFlag === undefined ? io.env : { ...io.env, GOJINN_DATA: dataDir };
    listen = (await loadConfigFile(file, { env, cwd: io.cwd, missingOk: true })).admin.listen;
  } catch (error) {
    if (error instanceof ConfigError) throw new GojinnError('bad_request', error.message);
    throw error;
  }
  if (listen.port === 0)
    throw new GojinnError(
      'bad_request',
      `${file} sets [admin] listen port 0 (any free port): pass --admin-url`,
    );
  // A node listening on every address is reached on loopback.
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${listen.port}`, dataDir };
}

function checkedUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GojinnError('bad_request', `--admin-url ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new GojinnError('bad_request', `--admin-url must be http:// or https://, got ${url.protocol}`);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname.replace(/^\[|\]$/g, '')))
    throw new GojinnError(
      'bad_request',
      `--admin-url ${url.host} is not loopback: the admin token would cross the network in clear text (use https://)`,
    );
  return url.origin;
}

export interface AdminRequestOptions {
  /** Called with (bytes sent, total) as the body goes out. */
  onProgress?: (sent: number, total: number) => void;
}

/** A client of one node's admin API. Every call resolves to the answer's JSON or throws its GojinnError. */
export class AdminClient {
  readonly url: string;
  readonly #token: string;

  constructor(url: string, token: string) {
    this.url = url;
    this.#token = token;
  }

  /** The client for the node the flags name (token read from its data dir). */
  static async connect(flags: AdminFlags, io: CommandIo): Promise<AdminClient> {
    const target = await adminTarget(flags, io);
    return new AdminClient(target.url, await readAdminToken(target.dataDir));
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    options: AdminRequestOptions = {},
  ): Promise<Record<string, unknown>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const { status, text } = await this.#send(method, path, payload, options);
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new GojinnError(
        'internal',
        `admin API at ${this.url} answered ${status} with a body that is not JSON`,
      );
    }
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer))
      throw new GojinnError('internal', `admin API at ${this.url} answered ${status} with no JSON object`);
    const object = answer as Record<string, unknown>;
    if (status >= 400 || object.ok === false) {
      const error = object.error as { code?: unknown; message?: unknown } | undefined;
      const code = isErrorCode(error?.code) ? error.code : 'internal';
      const message = typeof error?.message === 'string' ? error.message : `admin API answered ${status}`;
      throw new GojinnError(code, message);
    }
    return object;
  }

  #send(
    method: string,
    path: string,
    payload: Buffer | undefined,
    options: AdminRequestOptions,
  ): Promise<{ status: number; text: string }> {
    const target = new URL(path, this.url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      // A node that refuses a body (413) answers and closes while the upload is still going:
      // the write then fails, but the answer is what the caller must see.
      let answered = false;
      const fail = (error: Error): void => {
        if (answered && !(error instanceof GojinnError)) return;
        const code = (error as NodeJS.ErrnoException).code;
        if (error instanceof GojinnError) reject(error);
        else if (code === 'ECONNREFUSED')
          reject(
            new GojinnError(
              'peer_unreachable',
              `no node answers at ${this.url} (is it running? start it with gojinn daemon)`,
            ),
          );
        else
          reject(new GojinnError('peer_unreachable', `admin API at ${this.url}: ${code ?? error.message}`));
      };
      const request = send(
        target,
        {
          method,
          agent: false,
          timeout: ADMIN_REQUEST_TIMEOUT_MS,
          headers: {
            authorization: `Bearer ${this.#token}`,
            accept: 'application/json',
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': payload.byteLength }),
          },
        },
        (response) => {
          answered = true;
          readAnswer(response).then(resolve, (error: Error) => {
            answered = false;
            fail(error);
          });
        },
      );
      request.setTimeout(ADMIN_REQUEST_TIMEOUT_MS, () =>
        request.destroy(
          new GojinnError(
            'timeout',
            `admin API at ${this.url} did not answer within ${ADMIN_REQUEST_TIMEOUT_MS} ms`,
          ),
        ),
      );
      request.on('error', fail);
      if (payload === undefined) {
        request.end();
        return;
      }
      writeChunks(request, payload, options.onProgress).catch(fail);
    });
  }
}

/** Writes the body chunk by chunk, waiting for the socket to drain, reporting progress. */
async function writeChunks(
  request: ReturnType<typeof httpRequest>,
  payload: Buffer,
  onProgress: AdminRequestOptions['onProgress'],
): Promise<void> {
  for (let sent = 0; sent < payload.byteLength;) {
    const chunk = payload.subarray(sent, sent + UPLOAD_CHUNK_BYTES);
    if (!request.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          request.off('drain', done);
          request.off('close', done);
          resolve();
        };
        request.once('drain', done);
        request.once('close', done);
      });
    }
    if (request.destroyed) return;
    sent += chunk.byteLength;
    onProgress?.(sent, payload.byteLength);
  }
  request.end();
}

async function readAnswer(response: IncomingMessage): Promise<{ status: number; text: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_ADMIN_RESPONSE_BYTES) {
      response.destroy();
      throw new GojinnError('bad_response', `admin answer is larger than ${MAX_ADMIN_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return { status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') };
}
