// The console's route table. Every route names its access: `public` (the login and the page's
// files), `user` or `admin`; the server checks it before the handler runs, and the tests walk this
// table, so a route added later is covered by the unauthenticated-request test at once.
import type { RequestContext } from './context.js';

export type Access = 'public' | 'user' | 'admin';
export type Handler = (ctx: RequestContext) => void | Promise<void>;

export interface Route {
  method: 'GET' | 'POST';
  /** `/api/devices/:id`: `:name` matches one non-empty path segment. */
  path: string;
  access: Access;
  handler: Handler;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) {
      if (got[i] === '') return null;
      let value: string;
      try {
        value = decodeURIComponent(got[i]);
      } catch {
        return null;
      }
      params[want[i].slice(1)] = value;
    } else if (want[i] !== got[i]) return null;
  }
  return params;
}

export class Router {
  constructor(readonly routes: readonly Route[]) {}

  /** The route for this method and path; `allowed` lists the methods of the path when none matches the method. */
  find(method: string, path: string): { found: RouteMatch } | { found: null; allowed: string[] } {
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = match(route.path, path);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { found: { route, params } };
      allowed.push(route.method);
    }
    return { found: null, allowed };
  }
}
