/**
 * `/fn/<name>[/<path>][?<query>]` → the function name and the uri the guest sees (the path
 * after the name, always starting with `/`, plus the query exactly as sent).
 */
import { MAX_NAME_LENGTH, NAME_PATTERN } from '@gojinn/manifest';

export const ROUTE_PREFIX = '/fn/';

export interface FunctionRoute {
  name: string;
  uri: string;
}

/**
 * null when the URL is not under /fn/ or names no valid function (the gateway answers 404).
 * The name is matched literally: percent-encoding in it is not decoded, so one function has
 * exactly one spelling and access rules cannot be sidestepped by encoding it differently.
 */
export function parseRoute(url: string): FunctionRoute | null {
  if (!url.startsWith(ROUTE_PREFIX)) return null;
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  const rest = path.slice(ROUTE_PREFIX.length);
  const slash = rest.indexOf('/');
  const name = slash === -1 ? rest : rest.slice(0, slash);
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) return null;
  const guestPath = slash === -1 ? '/' : rest.slice(slash);
  return { name, uri: guestPath + query };
}
