import { configFilePath, loadConfigFile, startNode } from '@gojinn/daemon';
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommandArgs, type Command } from '../command.ts';
import { reportFailure } from '../module-files.ts';
import { DEFAULT_DATA_DIR, dataDirectory } from './modules.ts';

const USAGE = `Usage: gojinn daemon [--data DIR] [--config FILE]

Runs a node in the foreground: the store, the registry, the sandbox's worker pool, the
capabilities, the signed audit log, the libp2p peer, the HTTP gateway (/fn/<name>) and the
admin API, as the config says (docs/config.md). Prints where the gateway and the admin API
listen, the node's peer id and its libp2p addresses (for other nodes' mesh.bootstrap).
SIGINT or SIGTERM stops it gracefully: no new requests, in-flight calls finish (bounded),
then the peer, the pool and the store close; a second signal exits at once.

Options:
  --data DIR     the data directory, made by gojinn init (default: $GOJINN_DATA, else ./${DEFAULT_DATA_DIR})
  --config FILE  the config file (default: $GOJINN_CONFIG, else DIR/config.toml)
  -h, --help     this text

Exit status: 0 stopped by a signal, 1 the node failed to start or to stop cleanly,
2 bad usage or a config error (the message names the file and key).
`;

const OPTIONS = {
  data: { type: 'string' },
  config: { type: 'string' },
} as const;

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Listens for SIGINT/SIGTERM: `received` resolves with the first; a second calls `onSecond`.
 * `dispose` removes exactly these listeners (no one else's).
 */
function listenForSignals(onSecond: (signal: string) => void): {
  received: Promise<string>;
  dispose: () => void;
} {
  let first: string | undefined;
  let resolveReceived: (signal: string) => void = () => undefined;
  const received = new Promise<string>((resolve) => {
    resolveReceived = resolve;
  });
  const handler = (signal: string): void => {
    if (first !== undefined) {
      onSecond(signal);
      return;
    }
    first = signal;
    resolveReceived(signal);
  };
  for (const signal of SIGNALS) process.on(signal, handler);
  return { received, dispose: () => SIGNALS.forEach((signal) => process.off(signal, handler)) };
}

export const daemonCommand: Command = {
  name: 'daemon',
  summary: 'Run a node: gateway, admin API, sandbox pool and capabilities, until SIGINT/SIGTERM',
  usage: USAGE,
  async run(args, io) {
    let stopping = false;
    const signals = listenForSignals((signal) => {
      io.stderr(`gojinn daemon: ${signal} again: exiting without waiting\n`);
      process.exit(EXIT_FAILED);
    });
    try {
      const { values } = parseCommandArgs(args, OPTIONS, false);
      if (values.data === '') throw new UsageError('--data needs a directory');
      if (values.config === '') throw new UsageError('--config needs a file');
      const dataDir = dataDirectory(values.data, io);
      const file = configFilePath({ flag: values.config, dataDir, env: io.env, cwd: io.cwd });
      // --data wins over a config file's node.dataDir, as $GOJINN_DATA does.
      const env = values.data === undefined ? io.env : { ...io.env, GOJINN_DATA: dataDir };
      const config = await loadConfigFile(file, { env, cwd: io.cwd });
      const node = await startNode(config, { env: io.env });
      io.stdout(
        `gateway  ${node.gatewayUrl}  (functions at ${node.gatewayUrl}/fn/<name>)\n` +
          `admin    ${node.adminUrl}  (bearer token in ${config.node.dataDir}/admin.token)\n` +
          (node.metricsUrl === undefined ? '' : `metrics  ${node.metricsUrl}/metrics\n`) +
          `peer id  ${node.peerId}\n` +
          node.meshAddresses.map((address) => `mesh     ${address}\n`).join(''),
      );
      const signal = await signals.received;
      stopping = true;
      io.stderr(`gojinn daemon: ${signal}: stopping (draining in-flight calls)\n`);
      await node.stop();
      io.stderr('gojinn daemon: stopped\n');
      return EXIT_OK;
    } catch (error) {
      if (stopping) {
        io.stderr(`gojinn daemon: stopping failed: ${(error as Error).message}\n`);
        return EXIT_FAILED;
      }
      return reportFailure('daemon', error, false, io);
    } finally {
      signals.dispose();
    }
  },
};
