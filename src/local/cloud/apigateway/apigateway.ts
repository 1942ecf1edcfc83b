/**
 * API Gateway v2 (HTTP APIs) for the gateway: the control plane (apigatewayv2-api.ts) and the data
 * plane (http-api-proxy.ts) over one store, as gateway routes.
 */
import type { GatewayRoute } from '../gateway/gateway';
import type { LogSink } from '../lambda/invoke-contract';
import { apiGatewayV2Routes } from './apigatewayv2-api';
import { httpApiProxyRoutes, type FunctionInvoker } from './http-api-proxy';
import { HttpApiStore } from './http-api-store';

export type { FunctionInvoker } from './http-api-proxy';
export { HttpApiStore } from './http-api-store';

export interface ApiGatewayV2Options {
  region: string;
  accountId: string;
  /** Reaches the functions AWS_PROXY integrations name. @default none: such integrations answer 500 */
  functionInvoker?: FunctionInvoker;
  /** @default no logging */
  logSink?: LogSink;
}

/** The HTTP APIs of the local cloud: their store and the routes serving their API and their endpoints. */
export function apiGatewayV2(opts: ApiGatewayV2Options): { store: HttpApiStore; routes: GatewayRoute[] } {
  const store = new HttpApiStore(opts.region, opts.accountId);
  return {
    store,
    routes: [
      ...apiGatewayV2Routes(store, opts.logSink),
      ...httpApiProxyRoutes({ store, functionInvoker: opts.functionInvoker, logSink: opts.logSink }),
    ],
  };
}
