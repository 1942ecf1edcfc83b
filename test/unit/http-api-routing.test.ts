// How an applied HTTP API picks a route for a request (http-api-proxy.ts routeFor), as API
// Gateway does: exact paths before path variables before greedy ones, an exact method before ANY,
// $default last; no match is no route (404).
import { routeFor } from '../../src/local/cloud/apigateway/http-api-proxy';
import { HttpApiStore } from '../../src/local/cloud/apigateway/http-api-store';

function apiWith(routeKeys: string[]) {
  const store = new HttpApiStore('us-east-1', '000000000000');
  const api = store.createApi({ name: 'a', protocolType: 'HTTP' });
  for (const routeKey of routeKeys) store.createRoute(String(api.wire.apiId), { routeKey });
  return (method: string, path: string) => {
    const matched = routeFor(api, method, path);
    return matched ? { key: matched.route.routeKey, params: matched.pathParameters } : undefined;
  };
}

test('the most specific route wins', () => {
  const route = apiWith(['GET /items/{id}', 'GET /items/special', 'ANY /items/{id}', 'GET /files/{path+}', '$default']);
  expect(route('GET', '/items/special')).toEqual({ key: 'GET /items/special', params: undefined });
  expect(route('GET', '/items/42')).toEqual({ key: 'GET /items/{id}', params: { id: '42' } });
  expect(route('DELETE', '/items/42')).toEqual({ key: 'ANY /items/{id}', params: { id: '42' } });
  expect(route('GET', '/files/a/b/c.png')).toEqual({ key: 'GET /files/{path+}', params: { path: 'a/b/c.png' } });
  expect(route('POST', '/elsewhere')).toEqual({ key: '$default', params: undefined });
});

test('without $default, a request no route matches has no route', () => {
  const route = apiWith(['POST /uploads', 'GET /files/{path+}']);
  expect(route('GET', '/uploads')).toBeUndefined();
  expect(route('POST', '/uploads/extra')).toBeUndefined();
  expect(route('GET', '/files')).toBeUndefined();
  expect(route('POST', '/uploads')).toEqual({ key: 'POST /uploads', params: undefined });
});
