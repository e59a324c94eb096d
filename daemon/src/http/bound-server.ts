/**
 * Binds a node:http server and describes where it listens — shared by the admin API and the
 * metrics listener, which bind the same way: the listen error (a port in use) rejects instead
 * of being thrown later, the URL brackets an IPv6 host, and close() also drops idle keep-alive
 * connections so a stopping node does not wait for clients to hang up.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BoundServer {
  readonly server: Server;
  /** e.g. http://127.0.0.1:8081 */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function bindServer(server: Server, port: number, host: string): Promise<BoundServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    host: address.address,
    port: address.port,
    url: `http://${urlHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
