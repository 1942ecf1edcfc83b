/**
 * ListObjectVersions of the local S3's (unversioned) buckets, with the real SDK against the gateway:
 * every object as its one "null" version, in pages, so a client that empties a bucket by its
 * versions (Terraform's force_destroy) finds the objects to delete.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startStandIn, type StandIn } from '../../src/local/cloud/standin/standin';
import { startGateway, type Gateway } from '../../src/local/cloud/gateway/gateway';
import { localClientConfig } from '../../src/local/client-config';

let standIn: StandIn;
let gateway: Gateway;
let s3: S3Client;

beforeAll(async () => {
  standIn = await startStandIn();
  gateway = await startGateway({ upstream: standIn.endpoint });
  s3 = new S3Client(localClientConfig(gateway.endpoint));
  await s3.send(new CreateBucketCommand({ Bucket: 'versions-bucket' }));
  for (const key of ['a/1.jpg', 'a/2.jpg', 'b/3.jpg'])
    await s3.send(new PutObjectCommand({ Bucket: 'versions-bucket', Key: key, Body: key }));
});

afterAll(async () => {
  s3?.destroy();
  await gateway?.stop();
  await standIn?.stop();
});

it('lists each object as its one null version, latest, by prefix and in pages', async () => {
  const all = await s3.send(new ListObjectVersionsCommand({ Bucket: 'versions-bucket' }));
  expect(all.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size])).toEqual([
    ['a/1.jpg', 'null', true, 7],
    ['a/2.jpg', 'null', true, 7],
    ['b/3.jpg', 'null', true, 7],
  ]);
  expect(all.DeleteMarkers).toBeUndefined();
  const prefixed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'versions-bucket', Prefix: 'b/' }));
  expect(prefixed.Versions?.map((v) => v.Key)).toEqual(['b/3.jpg']);
  const first = await s3.send(new ListObjectVersionsCommand({ Bucket: 'versions-bucket', MaxKeys: 2 }));
  expect([first.IsTruncated, first.NextKeyMarker, first.Versions?.length]).toEqual([true, 'a/2.jpg', 2]);
  const next = await s3.send(
    new ListObjectVersionsCommand({ Bucket: 'versions-bucket', KeyMarker: first.NextKeyMarker, MaxKeys: 2 }),
  );
  expect([next.IsTruncated, next.Versions?.map((v) => v.Key)]).toEqual([false, ['b/3.jpg']]);
});

it('what it lists can be deleted by version, and the bucket then deleted', async () => {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'versions-bucket' }));
  await s3.send(
    new DeleteObjectsCommand({
      Bucket: 'versions-bucket',
      Delete: { Objects: (listed.Versions ?? []).map((v) => ({ Key: v.Key, VersionId: v.VersionId })) },
    }),
  );
  expect((await s3.send(new ListObjectVersionsCommand({ Bucket: 'versions-bucket' }))).Versions).toBeUndefined();
  await s3.send(new DeleteBucketCommand({ Bucket: 'versions-bucket' }));
});
