// The upload page's form target, run from the page's own script: a form signed inside a function
// container names the host as the container reaches it (host.docker.internal at its forwarder's
// port, which is the endpoint's own port only when that port was free on the bridge address). A
// browser cannot resolve that name, so the page posts to its own host and port: the endpoint it was
// served from, which the forwarder leads to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type FormTarget = (url: string) => string;

/** formTarget as the page defines it, evaluated against `pageUrl` as the page's location. */
function pageFormTarget(pageUrl: string): FormTarget {
  const html = readFileSync(join(__dirname, '../../src/local/cloud/apigateway/ui/index.html'), 'utf8');
  const source = /function formTarget\(url\) \{[\s\S]*?\n {6}\}/.exec(html)?.[0];
  if (!source) throw new Error('formTarget not found in the upload page');
  const url = new URL(pageUrl);
  const location = { href: url.href, host: url.host, hostname: url.hostname, origin: url.origin };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the page's own function, read from its file
  const define = new Function('location', `${source}; return formTarget;`) as (loc: typeof location) => FormTarget;
  return define(location);
}

describe("the upload page's form target", () => {
  const formTarget = pageFormTarget('http://127.0.0.1:4566/_ui/');

  it("maps a container's name for the host to the endpoint the page came from, whatever the forwarder's port", () => {
    expect(formTarget('http://host.docker.internal:4566/src-bucket')).toBe('http://127.0.0.1:4566/src-bucket');
    expect(formTarget('http://host.docker.internal:40123/src-bucket')).toBe('http://127.0.0.1:4566/src-bucket');
  });

  it('leaves any other target as signed (on AWS: the bucket endpoint)', () => {
    expect(formTarget('https://my-bucket.s3.eu-west-1.amazonaws.com/')).toBe(
      'https://my-bucket.s3.eu-west-1.amazonaws.com/',
    );
    expect(formTarget('http://127.0.0.1:4566/src-bucket')).toBe('http://127.0.0.1:4566/src-bucket');
  });
});
