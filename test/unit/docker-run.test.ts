// The pure parts of up's docker run offer: env file lines, URL re-hosting, the printed line.
import { isPipelineError } from '../../src/core/errors';
import { dockerRunLine, envFileText, rehost } from '../../src/local/cloud/lambda/docker-run';

describe('docker run offer', () => {
  test('env file: KEY=value lines, JSON values as they are; a line break is refused with its key', () => {
    expect(envFileText({ A: 'x', VARIANTS: '[{"name":"t","width":320}]' })).toBe(
      'A=x\nVARIANTS=[{"name":"t","width":320}]\n',
    );
    let caught: unknown;
    try {
      envFileText({ BAD: 'a\nb' });
    } catch (err) {
      caught = err;
    }
    expect(isPipelineError(caught) && caught.code === 'INVALID_CONFIG' && caught.subject.field === 'env.BAD').toBe(
      true,
    );
  });

  test('queue URLs move to the container-reachable origin; other URLs stay', () => {
    expect(
      rehost('http://127.0.0.1:4566/000000000000/q', 'http://127.0.0.1:4566', 'http://host.docker.internal:4566'),
    ).toBe('http://host.docker.internal:4566/000000000000/q');
    expect(
      rehost('https://sqs.us-east-1.amazonaws.com/1/q', 'http://127.0.0.1:4566', 'http://host.docker.internal:4566'),
    ).toBe('https://sqs.us-east-1.amazonaws.com/1/q');
  });

  test('the line publishes the invoke port on loopback only and maps host.docker.internal to the host', () => {
    expect(dockerRunLine('/tmp/x/resize.env', 'image-resize-chain/resize')).toBe(
      'docker run --rm -p 127.0.0.1:9000:8080 --add-host host.docker.internal:host-gateway ' +
        '--env-file /tmp/x/resize.env image-resize-chain/resize',
    );
  });
});
