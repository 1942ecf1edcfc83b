/**
 * Reading and writing the multipart/form-data body of an S3 POST upload (RFC 7578 / RFC 2046).
 *
 * The reader takes the body as it streams in and stops early: the fields before the file part are
 * limited to 20 KiB (S3's limit on "form data and boundaries, excluding the contents of the file"),
 * and once the file part starts a callback sees those fields and says how many file bytes to take.
 * Fields after the file part are ignored, as S3 ignores them. The writer produces the canonical
 * form that is sent on: exactly the fields read, then the file, under a fresh boundary, so whoever
 * parses it next cannot read anything the checks did not see.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

/** S3's limit on the form data and boundaries before the file's content. */
export const MAX_FIELDS_BYTES = 20 * 1024;

/** Bytes tolerated after the file's content (closing boundary, fields S3 ignores) before a body counts as too large. */
const AFTER_FILE_SLACK = 20 * 1024;

export interface FormField {
  readonly name: string;
  readonly value: string;
}

export interface FormFilePart {
  /** The part's field name (`file` for S3). */
  readonly fieldName: string;
  /** The `filename` parameter as sent, when there is one. */
  readonly filename?: string;
  /** The part's own Content-Type header. */
  readonly contentType?: string;
}

export interface FormFile extends FormFilePart {
  readonly data: Buffer;
}

export interface PostForm {
  /** Fields before the file part, in order. */
  readonly fields: readonly FormField[];
  /** The file part, or undefined when the form has none. */
  readonly file?: FormFile;
}

/** What the reader got; `raw` is every byte received (for sending a form on unchanged). */
export type ReadFormResult =
  | { readonly kind: 'form'; readonly form: PostForm; readonly raw: Buffer }
  /** The callback declined the file: nothing more was kept (the rest of the body is discarded). */
  | { readonly kind: 'declined'; readonly fields: readonly FormField[] }
  | { readonly kind: 'malformed'; readonly reason: string }
  /** The fields before the file part exceed MAX_FIELDS_BYTES. */
  | { readonly kind: 'fields-too-large' }
  /**
   * The file passed the callback's limit; `proposedSize` is its size as far as it can be told
   * (from Content-Length when sent, else a lower bound).
   */
  | { readonly kind: 'file-too-large'; readonly fields: readonly FormField[]; readonly file: FormFilePart; readonly proposedSize: number }
  /** The client went away before the end of the body. */
  | { readonly kind: 'aborted' };

export interface ReadFormOptions {
  /** The request's Content-Type (carries the boundary). */
  readonly contentType: string;
  /** The request's Content-Length, when it sent one. */
  readonly contentLength?: number;
  /**
   * Called once, when the file part's headers have arrived: the most file bytes to accept, or
   * false to stop reading (the result is then `declined`).
   */
  readonly onFileStart: (fields: readonly FormField[], file: FormFilePart) => number | false;
}

/** The boundary parameter of a multipart/form-data Content-Type, unquoted; undefined otherwise. */
export function multipartBoundary(contentType: string): string | undefined {
  const [type, ...params] = contentType.split(';');
  if (type?.trim().toLowerCase() !== 'multipart/form-data') return undefined;
  for (const param of params) {
    const match = /^\s*boundary\s*=\s*(?:"([^"]+)"|([^\s";]+))\s*$/i.exec(param);
    const boundary = match?.[1] ?? match?.[2];
    // RFC 2046: 1 to 70 characters.
    if (boundary !== undefined) return boundary.length <= 70 ? boundary : undefined;
  }
  return undefined;
}

/** A header parameter, quoted or not (`name="key"`, `name=key`). */
function headerParam(header: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i').exec(header);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}

interface PartHeaders {
  readonly name: string;
  readonly filename?: string;
  readonly contentType?: string;
}

function parsePartHeaders(block: string): PartHeaders | string {
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) return `bad part header line ${JSON.stringify(line.slice(0, 80))}`;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition = value;
    else if (name === 'content-type') contentType = value;
  }
  if (!disposition || !/^form-data\s*(;|$)/i.test(disposition)) return 'a part without Content-Disposition: form-data';
  const name = headerParam(disposition, 'name');
  if (name === undefined || name === '') return 'a part without a name';
  const filename = headerParam(disposition, 'filename');
  return { name, ...(filename !== undefined ? { filename } : {}), ...(contentType !== undefined ? { contentType } : {}) };
}

/** Where the fields end and the file begins, or why that cannot be told yet. */
type HeadScan =
  | { readonly state: 'need-more' }
  | { readonly state: 'malformed'; readonly reason: string }
  | { readonly state: 'file'; readonly fields: FormField[]; readonly file: FormFilePart; readonly fileStart: number }
  | { readonly state: 'end'; readonly fields: FormField[] };

/** The file part is the one named `file`, or any part carrying a filename (what browsers send). */
function isFilePart(headers: PartHeaders): boolean {
  return headers.filename !== undefined || headers.name.toLowerCase() === 'file';
}

function scanHead(buf: Buffer, boundary: string): HeadScan {
  const dash = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The first delimiter opens the body or follows a preamble line.
  let pos: number;
  if (buf.length < dash.length) return { state: 'need-more' };
  if (buf.subarray(0, dash.length).equals(dash)) pos = dash.length;
  else {
    const found = buf.indexOf(delimiter);
    if (found < 0) return { state: 'need-more' };
    pos = found + delimiter.length;
  }
  const fields: FormField[] = [];
  for (;;) {
    if (buf.length < pos + 2) return { state: 'need-more' };
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) return { state: 'end', fields };
    // Transport padding (spaces, tabs) may follow a delimiter before its line break.
    while (pos < buf.length && (buf[pos] === 0x20 || buf[pos] === 0x09)) pos++;
    if (buf.length < pos + 2) return { state: 'need-more' };
    if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) return { state: 'malformed', reason: 'no line break after a boundary' };
    const headersStart = pos + 2;
    const headersEnd = buf.indexOf('\r\n\r\n', headersStart);
    if (headersEnd < 0) return { state: 'need-more' };
    const headers = parsePartHeaders(buf.subarray(headersStart, headersEnd).toString('utf8'));
    if (typeof headers === 'string') return { state: 'malformed', reason: headers };
    const contentStart = headersEnd + 4;
    if (isFilePart(headers)) {
      const file: FormFilePart = {
        fieldName: headers.name,
        ...(headers.filename !== undefined ? { filename: headers.filename } : {}),
        ...(headers.contentType !== undefined ? { contentType: headers.contentType } : {}),
      };
      return { state: 'file', fields, file, fileStart: contentStart };
    }
    const end = buf.indexOf(delimiter, contentStart);
    if (end < 0) return { state: 'need-more' };
    fields.push({ name: headers.name, value: buf.subarray(contentStart, end).toString('utf8') });
    pos = end + delimiter.length;
  }
}

/**
 * Reads an S3 POST form from `body` (an IncomingMessage or any byte stream). Never throws for a bad
 * body: the result says what was wrong. When it stops early (declined, too large) it leaves the
 * stream flowing so the rest of the body is read and discarded and the connection stays usable.
 */
export function readPostForm(body: Readable, opts: ReadFormOptions): Promise<ReadFormResult> {
  const boundary = multipartBoundary(opts.contentType);
  if (boundary === undefined) {
    body.resume();
    return Promise.resolve({ kind: 'malformed', reason: 'not multipart/form-data with a boundary' });
  }
  return new Promise<ReadFormResult>((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let head: (HeadScan & { state: 'file' }) | undefined;
    // After the file's content come the closing delimiter and perhaps fields S3 ignores.
    const tail = boundary.length + 8 + AFTER_FILE_SLACK;
    let limit = Number.POSITIVE_INFINITY;
    let settled = false;

    const finish = (result: ReadFormResult, discardRest: boolean): void => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onGone);
      body.off('close', onGone);
      if (discardRest) {
        // Drain what is left; an error from a client that gives up meanwhile is of no interest.
        body.on('error', () => undefined);
        body.resume();
      }
      resolve(result);
    };

    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.length;
      if (!head) {
        const scan = scanHead(Buffer.concat(chunks), boundary);
        if (scan.state === 'malformed') return finish({ kind: 'malformed', reason: scan.reason }, true);
        if (scan.state === 'end') return finish({ kind: 'form', form: { fields: scan.fields }, raw: Buffer.concat(chunks) }, true);
        if (scan.state === 'need-more') {
          if (received > MAX_FIELDS_BYTES) finish({ kind: 'fields-too-large' }, true);
          return;
        }
        if (scan.fileStart > MAX_FIELDS_BYTES) return finish({ kind: 'fields-too-large' }, true);
        head = scan;
        const maxFileBytes = opts.onFileStart(scan.fields, scan.file);
        if (maxFileBytes === false) return finish({ kind: 'declined', fields: scan.fields }, true);
        limit = scan.fileStart + maxFileBytes + tail;
      }
      if (received > limit) {
        // The file has at least this many bytes; Content-Length minus the fields and the closing
        // delimiter tells its size, unless fields follow it.
        const atLeast = received - head.fileStart - tail;
        const declared = opts.contentLength !== undefined ? opts.contentLength - head.fileStart - (boundary.length + 8) : 0;
        finish({ kind: 'file-too-large', fields: head.fields, file: head.file, proposedSize: Math.max(atLeast, declared) }, true);
      }
    };

    const onEnd = (): void => {
      const raw = Buffer.concat(chunks);
      if (!head) {
        const scan = scanHead(raw, boundary);
        if (scan.state === 'end') return finish({ kind: 'form', form: { fields: scan.fields }, raw }, false);
        return finish({ kind: 'malformed', reason: scan.state === 'malformed' ? scan.reason : 'the body ends inside a part' }, false);
      }
      const end = raw.indexOf(`\r\n--${boundary}`, head.fileStart);
      if (end < 0) return finish({ kind: 'malformed', reason: 'the file part has no closing boundary' }, false);
      const file: FormFile = { ...head.file, data: raw.subarray(head.fileStart, end) };
      finish({ kind: 'form', form: { fields: head.fields, file }, raw }, false);
    };

    const onGone = (): void => finish({ kind: 'aborted' }, false);

    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onGone);
    body.on('close', onGone);
  });
}

/** A header parameter value as browsers write it (WHATWG: `"`, CR and LF percent-encoded). */
function quoted(value: string): string {
  return `"${value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;
}

/**
 * Writes `fields` then `file` as multipart/form-data under a fresh random boundary that occurs in
 * no part. Returns the body and the Content-Type that names its boundary.
 */
export function encodePostForm(form: PostForm): { body: Buffer; contentType: string } {
  const parts = form.fields.map((f) => Buffer.from(f.value, 'utf8'));
  let boundary: string;
  do {
    boundary = `----LocalS3Form${randomBytes(12).toString('hex')}`;
  } while (parts.some((p) => p.includes(boundary)) || (form.file?.data.includes(boundary) ?? false));
  const pieces: Buffer[] = [];
  form.fields.forEach((field, i) => {
    pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name=${quoted(field.name)}\r\n\r\n`, 'utf8'), parts[i] as Buffer, Buffer.from('\r\n'));
  });
  if (form.file) {
    const { fieldName, filename, contentType, data } = form.file;
    const disposition = `form-data; name=${quoted(fieldName)}${filename !== undefined ? `; filename=${quoted(filename)}` : ''}`;
    const type = contentType !== undefined ? `\r\nContent-Type: ${contentType.replace(/[\r\n]/g, '')}` : '';
    pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}${type}\r\n\r\n`, 'utf8'), data, Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(pieces), contentType: `multipart/form-data; boundary=${boundary}` };
}
