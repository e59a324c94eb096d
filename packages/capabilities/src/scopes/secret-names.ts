/** secrets.read scopes: exact secret names. Intersection and union are plain set operations. */

export function intersectNames(a: readonly string[], b: readonly string[]): string[] {
  const inB = new Set(b);
  return [...new Set(a)].filter((name) => inB.has(name)).sort();
}

export function unionNames(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}
