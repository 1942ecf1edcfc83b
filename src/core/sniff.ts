/**
 * Sniffing: what an input is from its leading bytes and container structure, before (or after a
 * failed) decode. Pure byte inspection, no decoder: markup and SVG are refused before librsvg could
 * see them, and a failed decode is told apart as cut short (TRUNCATED) or damaged (CORRUPT).
 */

/** Input formats we decode. SVG is refused (a renderer of untrusted XML with external references). */
export const ACCEPTED_INPUT_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff'] as const;

/**
 * Classifies text that starts like markup, without an XML parser: 'svg' when the root element is
 * <svg> (after any XML declaration, comments and DOCTYPE), 'markup' for any other tag soup (HTML,
 * XML), undefined when the bytes do not start with '<' (after a BOM and whitespace).
 */
export function sniffMarkup(input: Buffer): 'svg' | 'markup' | undefined {
  let head: string;
  if (input[0] === 0xff && input[1] === 0xfe) head = input.subarray(2, 8192).toString('utf16le');
  else if (input[0] === 0xfe && input[1] === 0xff)
    head = Buffer.from(input.subarray(2, 8192)).swap16().toString('utf16le');
  else head = input.subarray(0, 4096).toString('utf8');
  let rest = head.replace(/^\uFEFF/, '').trimStart();
  if (!rest.startsWith('<')) return undefined;
  for (;;) {
    let end: number;
    if (rest.startsWith('<?')) end = indexAfter(rest, '?>');
    else if (rest.startsWith('<!--')) end = indexAfter(rest, '-->');
    else if (rest.startsWith('<!')) {
      // A DOCTYPE may carry an internal subset in [...] with its own '>' characters.
      const bracket = rest.indexOf('[');
      const close = rest.indexOf('>');
      end = bracket !== -1 && bracket < close ? indexAfter(rest, ']>') : close === -1 ? -1 : close + 1;
    } else break;
    if (end === -1) return /<([a-z_][\w.-]*:)?svg[\s>/]/i.test(head) ? 'svg' : 'markup';
    rest = rest.slice(end).trimStart();
  }
  return /^<([a-z_][\w.-]*:)?svg[\s>/]/i.test(rest) ? 'svg' : 'markup';
}

function indexAfter(text: string, token: string): number {
  const at = text.indexOf(token);
  return at === -1 ? -1 : at + token.length;
}

/** The accepted format the leading bytes announce, whether or not the rest decodes. */
export function magicFormat(input: Buffer): (typeof ACCEPTED_INPUT_FORMATS)[number] | undefined {
  if (input.length >= 3 && input[0] === 0xff && input[1] === 0xd8 && input[2] === 0xff) return 'jpeg';
  if (input.length >= 8 && input.readUInt32BE(0) === 0x89504e47 && input.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (input.length >= 12 && input.toString('latin1', 0, 4) === 'RIFF' && input.toString('latin1', 8, 12) === 'WEBP')
    return 'webp';
  if (input.length >= 6 && /^GIF8[79]a$/.test(input.toString('latin1', 0, 6))) return 'gif';
  if (input.length >= 8 && /^(II\*\0|MM\0\*)$/.test(input.toString('latin1', 0, 4))) return 'tiff';
  if (
    input.length >= 12 &&
    input.toString('latin1', 4, 8) === 'ftyp' &&
    ftypBrands(input).some((b) => b === 'avif' || b === 'avis')
  ) {
    return 'avif';
  }
  return undefined;
}

/** Major and compatible brands of a leading ISO-BMFF `ftyp` box (AVIF files may lead with `mif1`). */
function ftypBrands(input: Buffer): string[] {
  const end = Math.min(input.length, input.readUInt32BE(0), 256);
  const brands = [input.toString('latin1', 8, 12)];
  for (let offset = 16; offset + 4 <= end; offset += 4) brands.push(input.toString('latin1', offset, offset + 4));
  return brands;
}

/**
 * True when the bytes are an accepted format whose container structure ends before its last part:
 * the shape an interrupted upload leaves. Only consulted after a decode failed, because libpng
 * reports truncation and corruption with the same message, and libtiff does not even recognise a
 * TIFF whose directory (written last) is cut off.
 */
export function looksTruncated(input: Buffer): boolean {
  switch (magicFormat(input)) {
    case 'jpeg':
      return jpegLooksTruncated(input);
    case 'png':
      return pngLooksTruncated(input);
    case 'webp':
      return 8 + input.readUInt32LE(4) > input.length;
    case 'gif':
      return input[input.length - 1] !== 0x3b;
    case 'tiff': {
      const ifd = input.toString('latin1', 0, 2) === 'II' ? input.readUInt32LE(4) : input.readUInt32BE(4);
      return ifd + 2 > input.length;
    }
    case 'avif':
      return isobmffLooksTruncated(input);
    default:
      return input.length < 4 && input[0] === 0xff && input[1] === 0xd8;
  }
}

function jpegLooksTruncated(input: Buffer): boolean {
  let offset = 2;
  for (;;) {
    if (offset + 4 > input.length) return true;
    if (input[offset] !== 0xff) return false; // Not a marker where one must be: corrupt, not cut.
    const marker = input[offset + 1];
    if (marker === 0xff) {
      offset += 1; // Fill byte.
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      offset += 2;
      continue;
    }
    if (marker === 0xd9) return false;
    const length = input.readUInt16BE(offset + 2);
    if (marker === 0xda) {
      // Entropy-coded data stuffs 0xFF as FF 00, so EOI (FF D9) cannot appear inside it.
      return input.indexOf(Buffer.from([0xff, 0xd9]), offset + 2 + length) === -1;
    }
    offset += 2 + length;
  }
}

/** ISO base media file (AVIF): a top-level box that claims more bytes than remain. */
function isobmffLooksTruncated(input: Buffer): boolean {
  let offset = 0;
  while (offset + 8 <= input.length) {
    let size = input.readUInt32BE(offset);
    if (size === 0) return false; // Box runs to the end of the file.
    if (size === 1) {
      if (offset + 16 > input.length) return true;
      size = Number(input.readBigUInt64BE(offset + 8));
    }
    if (size < 8) return false; // Nonsense size: corrupt, not cut.
    offset += size;
  }
  return offset > input.length;
}

function pngLooksTruncated(input: Buffer): boolean {
  let offset = 8;
  while (offset + 8 <= input.length) {
    const length = input.readUInt32BE(offset);
    const type = input.toString('latin1', offset + 4, offset + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) return false;
    if (type === 'IEND') return false;
    offset += 12 + length;
  }
  return true;
}
