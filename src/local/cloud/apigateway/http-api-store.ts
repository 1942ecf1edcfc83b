/**
 * API Gateway v2's state and behaviour for HTTP APIs: APIs, stages, routes, integrations, JWT
 * authorizers and tags, with API Gateway's validations and errors (NotFoundException,
 * BadRequestException, ConflictException). Objects are kept in their wire form (the REST-JSON
 * members: `apiId`, `routeKey`, …), so reads return what was applied with API Gateway's defaults
 * filled in. The wire protocol is in apigatewayv2-api.ts, the data plane in http-api-proxy.ts.
 */
import { randomInt } from 'node:crypto';

/** An API Gateway error: the exception type (x-amzn-ErrorType) and its HTTP status. */
export class ApiGatewayError extends Error {
  constructor(
    readonly code: 'NotFoundException' | 'BadRequestException' | 'ConflictException' | 'TooManyRequestsException',
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return { NotFoundException: 404, BadRequestException: 400, ConflictException: 409, TooManyRequestsException: 429 }[
      this.code
    ];
  }
}

type Wire = Record<string, unknown>;

/** A wire member that should be a string: itself, or `fallback` when it is anything else. */
export function wireText(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

/** One HTTP API and what hangs off it. */
export interface HttpApi {
  readonly wire: Wire;
  readonly stages: Map<string, Wire>;
  readonly routes: Map<string, Wire>;
  readonly integrations: Map<string, Wire>;
  readonly authorizers: Map<string, Wire>;
}

const ROUTE_METHODS = new Set(['ANY', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/** API Gateway's ids: lowercase letters and digits (10 for an API, fewer for its parts). */
function newId(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

function badRequest(message: string): ApiGatewayError {
  return new ApiGatewayError('BadRequestException', message);
}

function requiredString(input: Wire, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '')
    throw badRequest(`${field} is required and must be a non-empty string`);
  return value;
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${field} must be a map of strings`);
  return Object.fromEntries(Object.entries(value as Wire).map(([k, v]) => [k, String(v)]));
}

/** `fields` of `input` that are present, copied (absent and null ones are left out). */
function pick(input: Wire, fields: readonly string[]): Wire {
  return Object.fromEntries(
    fields.filter((f) => input[f] !== undefined && input[f] !== null).map((f) => [f, input[f]]),
  );
}

/** `$default`, or `<METHOD> /<path>` with `{name}` and a final `{name+}` segment. */
function checkRouteKey(routeKey: string): void {
  if (routeKey === '$default') return;
  const [method, path, extra] = routeKey.split(' ');
  if (extra !== undefined || !method || !ROUTE_METHODS.has(method) || !path?.startsWith('/'))
    throw badRequest(
      `Unable to create route ${routeKey}. The route key must be $default or "<METHOD> /<path>" with METHOD one of ` +
        `${[...ROUTE_METHODS].join(', ')}.`,
    );
  const segments = path.split('/').slice(1);
  segments.forEach((segment, i) => {
    if (segment.endsWith('+}') && i !== segments.length - 1)
      throw badRequest(`Unable to create route ${routeKey}. A greedy path variable must be the last path segment.`);
  });
}

const API_FIELDS = [
  'name',
  'description',
  'version',
  'corsConfiguration',
  'disableExecuteApiEndpoint',
  'ipAddressType',
];
const STAGE_FIELDS = [
  'accessLogSettings',
  'autoDeploy',
  'clientCertificateId',
  'deploymentId',
  'description',
  'routeSettings',
  'stageVariables',
];
const ROUTE_FIELDS = [
  'routeKey',
  'target',
  'authorizationType',
  'authorizerId',
  'authorizationScopes',
  'apiKeyRequired',
  'operationName',
  'requestModels',
  'requestParameters',
  'modelSelectionExpression',
  'routeResponseSelectionExpression',
];
const INTEGRATION_FIELDS = [
  'integrationType',
  'integrationUri',
  'integrationMethod',
  'payloadFormatVersion',
  'timeoutInMillis',
  'connectionType',
  'connectionId',
  'credentialsArn',
  'description',
  'integrationSubtype',
  'requestParameters',
  'responseParameters',
  'tlsConfig',
];
const AUTHORIZER_FIELDS = [
  'authorizerType',
  'name',
  'identitySource',
  'jwtConfiguration',
  'authorizerUri',
  'authorizerCredentialsArn',
  'authorizerPayloadFormatVersion',
  'authorizerResultTtlInSeconds',
  'enableSimpleResponses',
  'identityValidationExpression',
];

/** The HTTP APIs of the local cloud and the control-plane operations on them. */
export class HttpApiStore {
  private readonly apis = new Map<string, HttpApi>();

  constructor(
    readonly region: string,
    readonly accountId: string,
  ) {}

  /** The API's ARN, and the ARN of one of its stages. */
  arnOf(apiId: string, stageName?: string): string {
    return `arn:aws:apigateway:${this.region}::/apis/${apiId}${stageName === undefined ? '' : `/stages/${stageName}`}`;
  }

  api(apiId: string): HttpApi {
    const found = this.apis.get(apiId);
    if (!found)
      throw new ApiGatewayError('NotFoundException', `Invalid API identifier specified ${this.accountId}:${apiId}`);
    return found;
  }

  list(): HttpApi[] {
    return [...this.apis.values()];
  }

  createApi(input: Wire): HttpApi {
    const name = requiredString(input, 'name');
    const protocolType = requiredString(input, 'protocolType');
    if (protocolType !== 'HTTP')
      throw badRequest(`Unsupported protocol type ${protocolType}: the local cloud serves HTTP APIs (not WEBSOCKET)`);
    if (input.target !== undefined || input.routeKey !== undefined)
      throw badRequest(
        'Quick create (target, routeKey) is not served by the local cloud: create the route and integration',
      );
    const apiId = newId(10);
    const api: HttpApi = {
      wire: {
        apiId,
        apiKeySelectionExpression: '$request.header.x-api-key',
        createdDate: new Date().toISOString(),
        disableExecuteApiEndpoint: false,
        ipAddressType: 'ipv4',
        protocolType,
        routeSelectionExpression: '$request.method $request.path',
        ...pick(input, API_FIELDS),
        name,
        tags: stringMap(input.tags, 'tags'),
      },
      stages: new Map(),
      routes: new Map(),
      integrations: new Map(),
      authorizers: new Map(),
    };
    this.apis.set(apiId, api);
    return api;
  }

  updateApi(apiId: string, input: Wire): HttpApi {
    const api = this.api(apiId);
    Object.assign(api.wire, pick(input, API_FIELDS));
    return api;
  }

  deleteCors(apiId: string): void {
    delete this.api(apiId).wire.corsConfiguration;
  }

  deleteApi(apiId: string): void {
    this.api(apiId);
    this.apis.delete(apiId);
  }

  stage(apiId: string, stageName: string): Wire {
    const found = this.api(apiId).stages.get(stageName);
    if (!found) throw new ApiGatewayError('NotFoundException', `Invalid stage identifier specified`);
    return found;
  }

  createStage(apiId: string, input: Wire): Wire {
    const api = this.api(apiId);
    const stageName = requiredString(input, 'stageName');
    if (stageName !== '$default' && !/^[a-zA-Z0-9_-]{1,128}$/.test(stageName))
      throw badRequest(`Stage name ${stageName} is invalid: 1 to 128 of a-z, A-Z, 0-9, '-', '_' (or $default)`);
    if (api.stages.has(stageName)) throw new ApiGatewayError('ConflictException', `Stage already exist`);
    const now = new Date().toISOString();
    const stage: Wire = {
      createdDate: now,
      lastUpdatedDate: now,
      routeSettings: {},
      stageVariables: {},
      ...pick(input, STAGE_FIELDS),
      autoDeploy: input.autoDeploy === true,
      defaultRouteSettings: {
        detailedMetricsEnabled: false,
        ...(input.defaultRouteSettings ?? {}),
      },
      stageName,
      tags: stringMap(input.tags, 'tags'),
    };
    this.deployIfAuto(stage);
    api.stages.set(stageName, stage);
    return stage;
  }

  updateStage(apiId: string, stageName: string, input: Wire): Wire {
    const stage = this.stage(apiId, stageName);
    Object.assign(stage, pick(input, STAGE_FIELDS));
    if (input.defaultRouteSettings)
      stage.defaultRouteSettings = { detailedMetricsEnabled: false, ...(input.defaultRouteSettings as Wire) };
    stage.lastUpdatedDate = new Date().toISOString();
    this.deployIfAuto(stage);
    return stage;
  }

  deleteStage(apiId: string, stageName: string): void {
    this.stage(apiId, stageName);
    this.api(apiId).stages.delete(stageName);
  }

  /** An auto-deploying stage serves the API's routes as they are: it gets a deployment id when it has none. */
  private deployIfAuto(stage: Wire): void {
    if (stage.autoDeploy !== true || stage.deploymentId !== undefined) return;
    const deploymentId = newId(6);
    stage.deploymentId = deploymentId;
    stage.lastDeploymentStatusMessage = `Successfully deployed stage with deployment ID '${deploymentId}'`;
  }

  route(apiId: string, routeId: string): Wire {
    const found = this.api(apiId).routes.get(routeId);
    if (!found) throw new ApiGatewayError('NotFoundException', `Invalid Route identifier specified ${routeId}`);
    return found;
  }

  createRoute(apiId: string, input: Wire): Wire {
    const api = this.api(apiId);
    const routeId = newId(7);
    const route: Wire = { apiKeyRequired: false, authorizationType: 'NONE', ...pick(input, ROUTE_FIELDS), routeId };
    this.checkRoute(api, route);
    api.routes.set(routeId, route);
    return route;
  }

  updateRoute(apiId: string, routeId: string, input: Wire): Wire {
    const api = this.api(apiId);
    const updated = { ...this.route(apiId, routeId), ...pick(input, ROUTE_FIELDS) };
    if (updated.authorizationType === 'NONE') delete updated.authorizerId;
    this.checkRoute(api, updated);
    api.routes.set(routeId, updated);
    return updated;
  }

  deleteRoute(apiId: string, routeId: string): void {
    this.route(apiId, routeId);
    this.api(apiId).routes.delete(routeId);
  }

  /** API Gateway's refusals for a route: its key (unique per API), its target, its authorizer. */
  private checkRoute(api: HttpApi, route: Wire): void {
    const routeKey = requiredString(route, 'routeKey');
    checkRouteKey(routeKey);
    for (const other of api.routes.values())
      if (other.routeId !== route.routeId && other.routeKey === routeKey)
        throw new ApiGatewayError('ConflictException', `Route with key ${routeKey} already exists for this API`);
    if (route.target !== undefined) {
      const target = wireText(route.target, JSON.stringify(route.target));
      const integrationId = /^integrations\/([a-z0-9]+)$/.exec(target)?.[1];
      if (!integrationId || !api.integrations.has(integrationId))
        throw badRequest(
          `Invalid target specified: ${target}. It must be integrations/<an integration id of this API>`,
        );
    }
    const type = route.authorizationType;
    if (type !== 'NONE' && type !== 'JWT' && type !== 'AWS_IAM' && type !== 'CUSTOM')
      throw badRequest(
        `Invalid authorization type specified: ${String(type)}. Valid values: NONE, JWT, AWS_IAM, CUSTOM`,
      );
    if (type === 'JWT' || type === 'CUSTOM') {
      const authorizer = api.authorizers.get(wireText(route.authorizerId));
      if (!authorizer)
        throw badRequest(`Unable to find authorizer with id ${wireText(route.authorizerId, 'null')} for this API`);
      const expected = type === 'JWT' ? 'JWT' : 'REQUEST';
      if (authorizer.authorizerType !== expected)
        throw badRequest(
          `Authorization type ${type} does not match the type of authorizer ${String(route.authorizerId)}`,
        );
    }
  }

  integration(apiId: string, integrationId: string): Wire {
    const found = this.api(apiId).integrations.get(integrationId);
    if (!found) throw new ApiGatewayError('NotFoundException', `Invalid Integration identifier specified`);
    return found;
  }

  createIntegration(apiId: string, input: Wire): Wire {
    const api = this.api(apiId);
    const integrationType = requiredString(input, 'integrationType');
    if (integrationType !== 'AWS_PROXY' && integrationType !== 'HTTP_PROXY')
      throw badRequest(`Unsupported integration type ${integrationType} for an HTTP API: AWS_PROXY or HTTP_PROXY`);
    const integrationId = newId(7);
    const integration: Wire = {
      apiGatewayManaged: false,
      connectionType: 'INTERNET',
      payloadFormatVersion: '1.0',
      timeoutInMillis: 30000,
      ...pick(input, INTEGRATION_FIELDS),
      integrationId,
    };
    checkIntegration(integration);
    api.integrations.set(integrationId, integration);
    return integration;
  }

  updateIntegration(apiId: string, integrationId: string, input: Wire): Wire {
    const api = this.api(apiId);
    const updated = { ...this.integration(apiId, integrationId), ...pick(input, INTEGRATION_FIELDS) };
    checkIntegration(updated);
    api.integrations.set(integrationId, updated);
    return updated;
  }

  deleteIntegration(apiId: string, integrationId: string): void {
    const api = this.api(apiId);
    this.integration(apiId, integrationId);
    for (const route of api.routes.values())
      if (route.target === `integrations/${integrationId}`)
        throw new ApiGatewayError(
          'ConflictException',
          `Cannot delete integration ${integrationId}: it is the target of route ${String(route.routeKey)}`,
        );
    api.integrations.delete(integrationId);
  }

  authorizer(apiId: string, authorizerId: string): Wire {
    const found = this.api(apiId).authorizers.get(authorizerId);
    if (!found) throw new ApiGatewayError('NotFoundException', `Invalid authorizer identifier specified`);
    return found;
  }

  createAuthorizer(apiId: string, input: Wire): Wire {
    const api = this.api(apiId);
    const authorizerId = newId(6);
    const authorizer: Wire = { ...pick(input, AUTHORIZER_FIELDS), authorizerId };
    checkAuthorizer(authorizer);
    api.authorizers.set(authorizerId, authorizer);
    return authorizer;
  }

  updateAuthorizer(apiId: string, authorizerId: string, input: Wire): Wire {
    const api = this.api(apiId);
    const updated = { ...this.authorizer(apiId, authorizerId), ...pick(input, AUTHORIZER_FIELDS) };
    checkAuthorizer(updated);
    api.authorizers.set(authorizerId, updated);
    return updated;
  }

  deleteAuthorizer(apiId: string, authorizerId: string): void {
    const api = this.api(apiId);
    this.authorizer(apiId, authorizerId);
    for (const route of api.routes.values())
      if (route.authorizerId === authorizerId)
        throw new ApiGatewayError(
          'ConflictException',
          `Cannot delete authorizer '${authorizerId}', is referenced in route: ${String(route.routeKey)}`,
        );
    api.authorizers.delete(authorizerId);
  }

  /** The tags of an API or stage ARN (arnOf). */
  tagsOf(arn: string): Record<string, string> {
    const wire = this.taggable(arn);
    return wire.tags as Record<string, string>;
  }

  tag(arn: string, tags: unknown): void {
    const wire = this.taggable(arn);
    wire.tags = { ...(wire.tags as Record<string, string>), ...stringMap(tags, 'tags') };
  }

  untag(arn: string, keys: readonly string[]): void {
    const wire = this.taggable(arn);
    const kept = { ...(wire.tags as Record<string, string>) };
    for (const key of keys) delete kept[key];
    wire.tags = kept;
  }

  private taggable(arn: string): Wire {
    const m = /^arn:aws:apigateway:[^:]*::\/apis\/([^/]+)(?:\/stages\/([^/]+))?$/.exec(arn);
    if (!m) throw new ApiGatewayError('NotFoundException', `Invalid resource ARN specified: ${arn}`);
    return m[2] === undefined ? this.api(m[1]).wire : this.stage(m[1], m[2]);
  }
}

function checkIntegration(integration: Wire): void {
  const uri = integration.integrationUri;
  if (typeof uri !== 'string' || uri === '') throw badRequest('IntegrationUri is required for a proxy integration');
  if (integration.integrationType === 'AWS_PROXY' && !/^arn:aws[a-z-]*:(lambda|apigateway):/.test(uri))
    throw badRequest(`Invalid function ARN or invalid uri: ${uri}`);
  const version = integration.payloadFormatVersion;
  if (version !== '1.0' && version !== '2.0')
    throw badRequest(`Invalid payload format version ${String(version)}: 1.0 or 2.0`);
  const timeout = integration.timeoutInMillis;
  if (typeof timeout !== 'number' || timeout < 50 || timeout > 30000)
    throw badRequest(`Timeout must be between 50 milliseconds and 30 seconds for an HTTP API (got ${String(timeout)})`);
}

function checkAuthorizer(authorizer: Wire): void {
  requiredString(authorizer, 'name');
  const type = authorizer.authorizerType;
  if (type !== 'JWT' && type !== 'REQUEST') throw badRequest(`Invalid authorizer type ${String(type)}: JWT or REQUEST`);
  if (!Array.isArray(authorizer.identitySource) || authorizer.identitySource.length === 0)
    throw badRequest('IdentitySource is required for an authorizer');
  if (type === 'JWT') {
    const jwt = authorizer.jwtConfiguration as { issuer?: unknown; audience?: unknown } | undefined;
    if (typeof jwt?.issuer !== 'string' || !Array.isArray(jwt.audience) || jwt.audience.length === 0)
      throw badRequest('JwtConfiguration with an issuer and at least one audience is required for a JWT authorizer');
  }
}
