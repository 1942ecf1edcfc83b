// API Gateway v2's state (http-api-store.ts) without a server: defaults filled in, references
// checked, API Gateway's error types.
import { ApiGatewayError, HttpApiStore } from '../../src/local/cloud/apigateway/http-api-store';

function refusal(run: () => unknown): string {
  try {
    run();
    return 'none';
  } catch (err) {
    return err instanceof ApiGatewayError ? `${err.status} ${err.code}: ${err.message}` : String(err);
  }
}

function apiWithIntegration() {
  const store = new HttpApiStore('us-east-1', '000000000000');
  const api = store.createApi({ name: 'a', protocolType: 'HTTP' });
  const apiId = String(api.wire.apiId);
  const integration = store.createIntegration(apiId, {
    integrationType: 'AWS_PROXY',
    integrationUri: 'arn:aws:lambda:us-east-1:000000000000:function:f',
    payloadFormatVersion: '2.0',
  });
  return { store, apiId, integrationId: String(integration.integrationId) };
}

test('an API gets API Gateway defaults and a 10-character id; an unknown one is NotFoundException', () => {
  const { store, apiId } = apiWithIntegration();
  expect(apiId).toMatch(/^[a-z0-9]{10}$/);
  expect(store.api(apiId).wire).toMatchObject({
    apiKeySelectionExpression: '$request.header.x-api-key',
    routeSelectionExpression: '$request.method $request.path',
    disableExecuteApiEndpoint: false,
    tags: {},
  });
  expect(refusal(() => store.api('nope'))).toBe(
    '404 NotFoundException: Invalid API identifier specified 000000000000:nope',
  );
  expect(refusal(() => store.createApi({ name: 'w', protocolType: 'WEBSOCKET' }))).toMatch(/^400 BadRequestException/);
});

test('routes: one per key (ConflictException), targets and authorizers must exist (BadRequestException)', () => {
  const { store, apiId, integrationId } = apiWithIntegration();
  store.createRoute(apiId, { routeKey: 'POST /uploads', target: `integrations/${integrationId}` });
  expect(refusal(() => store.createRoute(apiId, { routeKey: 'POST /uploads' }))).toBe(
    '409 ConflictException: Route with key POST /uploads already exists for this API',
  );
  expect(refusal(() => store.createRoute(apiId, { routeKey: 'GET /x', target: 'integrations/zzzzzzz' }))).toMatch(
    /^400 BadRequestException: Invalid target specified/,
  );
  expect(
    refusal(() => store.createRoute(apiId, { routeKey: 'GET /y', authorizationType: 'JWT', authorizerId: 'abc' })),
  ).toMatch(/^400 BadRequestException: Unable to find authorizer with id abc/);
  expect(refusal(() => store.createRoute(apiId, { routeKey: 'FETCH /z' }))).toMatch(
    /^400 BadRequestException: Unable to create route/,
  );
  expect(refusal(() => store.deleteIntegration(apiId, integrationId))).toMatch(
    /^409 ConflictException: Cannot delete integration/,
  );
});

test('an auto-deploying stage gets a deployment; a second stage of the same name is a conflict', () => {
  const { store, apiId } = apiWithIntegration();
  const stage = store.createStage(apiId, { stageName: '$default', autoDeploy: true });
  expect(stage).toMatchObject({
    deploymentId: expect.stringMatching(/^[a-z0-9]{6}$/),
    defaultRouteSettings: { detailedMetricsEnabled: false },
  });
  expect(refusal(() => store.createStage(apiId, { stageName: '$default' }))).toBe(
    '409 ConflictException: Stage already exist',
  );
  store.tag(store.arnOf(apiId, '$default'), { team: 'x' });
  expect(store.tagsOf(store.arnOf(apiId, '$default'))).toEqual({ team: 'x' });
});
