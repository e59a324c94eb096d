/**
 * The config.toml of a test node: everything on loopback with free ports (libp2p, gateway,
 * admin), no metrics listener, silent logs — plus the test's own lines, section by section.
 */
export function testNodeConfig(sections: Readonly<Record<string, readonly string[]>> = {}): string {
  const base: Record<string, string[]> = {
    listen: ['addresses = ["/ip4/127.0.0.1/tcp/0"]'],
    gateway: ['listen = "127.0.0.1:0"'],
    admin: ['listen = "127.0.0.1:0"'],
    metrics: ['enabled = false'],
    logging: ['level = "silent"'],
  };
  for (const [name, lines] of Object.entries(sections)) base[name] = [...(base[name] ?? []), ...lines];
  return Object.entries(base)
    .map(([name, lines]) => [`[${name}]`, ...lines].join('\n'))
    .join('\n');
}
