/**
 * Reading and writing the multipart/form-data body of an S3 POST upload (RFC 7578 / RFC 2046).
 *
 * busboy parses the body as it streams in; this module adds what S3 asks of a POST form on top:
 * the fields before the file part are limited to 20 KiB (S3's limit on "form data and boundaries,
 * excluding the contents of the file"), and once the file part starts a callback sees those fields
 * and says how many file bytes to take, so an over-large file is refused without being buffered.
 * Fields after the file part are ignored, as S3 ignores them. The writer produces the canonical
 * form that is sent on: exactly the fields read, then the file, under a fresh boundary, so whoever
 * parses it next cannot read anything the checks did not see.
 */
import busboy, { type Busboy, type FieldInfo, type FileInfo } from 'busboy';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { asError } from '../../../core/errors';

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
  /** The `filename` parameter as sent (folders kept), when there is one. */
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

/** What the reader got. */
export type ReadFormResult =
  | { readonly kind: 'form'; readonly form: PostForm }
  /** The callback declined the file: nothing more was kept (the rest of the body is discarded). */
  | { readonly kind: 'declined'; readonly fields: readonly FormField[] }
  | { readonly kind: 'malformed'; readonly reason: string }
  /** The fields before the file part exceed MAX_FIELDS_BYTES. */
  | { readonly kind: 'fields-too-large' }
  /**
   * The file passed the callback's limit; `proposedSize` is its size as far as it can be told
   * (from Content-Length when sent, else a lower bound).
   */
  | {
      readonly kind: 'file-too-large';
      readonly fields: readonly FormField[];
      readonly file: FormFilePart;
      readonly proposedSize: number;
    }
  /** The client went away before the end of the body. */
  | { readonly kind: 'aborted' };

export interface ReadFormOptions {
  /** The request's Content-Type (carries the boundary). */
  readonly contentType: string;
  /** The request's Content-Length, when it sent one. */
  readonly contentLength?: number;
  /**
   * Called once, when the file part's headers have arrived: the most file bytes to accept, or
   * false to stop reading (the result is then `declined`). The body is paused until it answers;
   * when it throws or rejects, readPostForm rejects with that error.
   */
  readonly onFileStart: (fields: readonly FormField[], file: FormFilePart) => number | false | Promise<number | false>;
}

/** The file part being taken: its bytes so far, and the most `onFileStart` allowed (unbounded until it answers). */
interface TakenFile {
  readonly part: FormFilePart;
  readonly chunks: Buffer[];
  bytes: number;
  max: number;
  /** Bytes before the file's content, as browsers write them (for its size from Content-Length). */
  readonly start: number;
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

/** A header parameter value as browsers write it (WHATWG: `"`, CR and LF percent-encoded). */
function quoted(value: string): string {
  return `"${value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;
}

/** The delimiter and headers of a part as browsers write them (and the writer below does). */
function partHead(boundary: string, name: string, file?: FormFilePart): string {
  const filename = file?.filename !== undefined ? `; filename=${quoted(file.filename)}` : '';
  const type = file?.contentType !== undefined ? `\r\nContent-Type: ${file.contentType.replace(/[\r\n]/g, '')}` : '';
  return `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(name)}${filename}${type}\r\n\r\n`;
}

/** Bytes of `fields` as browsers write them under `boundary`: S3 counts these against MAX_FIELDS_BYTES. */
function fieldsLength(boundary: string, fields: readonly FormField[]): number {
  return fields.reduce(
    (sum, f) => sum + Buffer.byteLength(partHead(boundary, f.name)) + Buffer.byteLength(f.value) + 2,
    0,
  );
}

/** The closing `\r\n--<boundary>--\r\n` after the file's content. */
const closingLength = (boundary: string): number => boundary.length + 8;

/**
 * A field named `file` without a filename (`curl -F file=<x`) is the file for S3 too; busboy reads
 * it as a field, so field values are read as latin1 (one char per byte, nothing lost) and decoded
 * here: UTF-8 text for a field, the bytes themselves for such a file.
 */
const FIELD_BYTES_CHARSET = 'latin1';

/**
 * Reads an S3 POST form from `body` (an IncomingMessage or any byte stream). Never rejects for a bad
 * body: the result says what was wrong (it rejects only with the error of a failing onFileStart). When it stops early
 * (declined, too large) it leaves the stream flowing so the rest of the body is read and discarded and the connection
 * stays usable.
 */
export function readPostForm(body: Readable, opts: ReadFormOptions): Promise<ReadFormResult> {
  const boundary = multipartBoundary(opts.contentType);
  if (boundary === undefined) {
    body.resume();
    return Promise.resolve({ kind: 'malformed', reason: 'not multipart/form-data with a boundary' });
  }
  return new Promise<ReadFormResult>((resolve, reject) => {
    const parser: Busboy = busboy({
      headers: { 'content-type': opts.contentType },
      // Filenames as sent (the key's ${filename} drops folders itself), names and filenames in UTF-8 as browsers send
      // them.
      preservePath: true,
      defParamCharset: 'utf8',
      defCharset: FIELD_BYTES_CHARSET,
      // One byte over S3's limit is enough to know a field is too large.
      limits: { fieldSize: MAX_FIELDS_BYTES + 1 },
    });
    const fields: FormField[] = [];
    let file: TakenFile | undefined;
    /** Settles when onFileStart has answered (at once when there is no file part). */
    let decided: Promise<void> = Promise.resolve();
    let fed = 0;
    let settled = false;

    /** Stops reading: no more events, the parser gone, the rest of the body drained when asked. */
    const stop = (discardRest: boolean): boolean => {
      if (settled) return false;
      settled = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onGone);
      body.off('close', onClose);
      parser.removeAllListeners();
      // A parser left half-way may still report; nobody listens any more.
      parser.on('error', () => undefined);
      parser.destroy();
      if (discardRest) {
        // Drain what is left; an error from a client that gives up meanwhile is of no interest.
        body.on('error', () => undefined);
        body.resume();
      }
      return true;
    };
    const finish = (result: ReadFormResult, discardRest: boolean): void => {
      if (stop(discardRest)) resolve(result);
    };

    const tooLarge = (): void => {
      if (!file) return;
      const declared = opts.contentLength !== undefined ? opts.contentLength - file.start - closingLength(boundary) : 0;
      finish({ kind: 'file-too-large', fields, file: file.part, proposedSize: Math.max(file.bytes, declared) }, true);
    };

    /** Starts taking the file once `onFileStart` has said how much; the body waits meanwhile. */
    const startFile = (part: FormFilePart): boolean => {
      const start = fieldsLength(boundary, fields) + Buffer.byteLength(partHead(boundary, part.fieldName, part));
      if (start > MAX_FIELDS_BYTES) {
        finish({ kind: 'fields-too-large' }, true);
        return false;
      }
      const taken: TakenFile = { part, chunks: [], bytes: 0, max: Number.POSITIVE_INFINITY, start };
      file = taken;
      body.pause();
      decided = Promise.resolve()
        .then(() => opts.onFileStart(fields, part))
        .then(
          (max) => {
            if (settled) return;
            if (max === false) return finish({ kind: 'declined', fields }, true);
            taken.max = max;
            if (taken.bytes > max) return tooLarge();
            body.resume();
          },
          (err: unknown) => {
            // The callback failed, not the body: the caller answers for it; the body is discarded.
            if (stop(true)) reject(asError(err));
          },
        );
      return true;
    };

    const takeFileBytes = (chunk: Buffer): void => {
      if (!file) return;
      file.chunks.push(chunk);
      file.bytes += chunk.length;
      if (file.bytes > file.max) tooLarge();
    };

    parser.on('field', (name: string | undefined, raw: string, info: FieldInfo) => {
      if (file || settled) return; // S3 ignores fields after the file.
      if (name === undefined || name === '')
        return finish({ kind: 'malformed', reason: 'a part without a name' }, true);
      if (info.valueTruncated) return finish({ kind: 'fields-too-large' }, true);
      const bytes = Buffer.from(raw, FIELD_BYTES_CHARSET);
      if (name.toLowerCase() === 'file') {
        if (startFile({ fieldName: name })) takeFileBytes(bytes);
        return;
      }
      fields.push({ name, value: bytes.toString('utf8') });
      if (fieldsLength(boundary, fields) > MAX_FIELDS_BYTES) finish({ kind: 'fields-too-large' }, true);
    });

    parser.on('file', (name: string | undefined, stream: Readable, info: FileInfo) => {
      // The stream fails when the body ends inside the file; the parser reports that as well.
      stream.on('error', () => undefined);
      if (!file && !settled && !name) finish({ kind: 'malformed', reason: 'a part without a name' }, true);
      // Only the first file part counts (busboy's rule: it has a filename or is application/octet-stream); any later
      // one is read past.
      if (file || settled || !name) return void stream.resume();
      // busboy says text/plain for a part that sent no Content-Type; S3 reads the form field, not this.
      const part: FormFilePart = {
        fieldName: name,
        ...(info.filename !== undefined ? { filename: info.filename } : {}),
        contentType: info.mimeType,
      };
      if (!startFile(part)) return void stream.resume();
      stream.on('data', takeFileBytes);
    });

    parser.on('error', (err: Error) => finish({ kind: 'malformed', reason: err.message }, true));
    parser.on('close', () => {
      void decided.then(() => {
        if (!file) return finish({ kind: 'form', form: { fields } }, false);
        finish(
          { kind: 'form', form: { fields, file: { ...file.part, data: Buffer.concat(file.chunks, file.bytes) } } },
          false,
        );
      });
    });

    const onData = (chunk: Buffer): void => {
      fed += chunk.length;
      parser.write(chunk);
      if (settled) return;
      // busboy reports a part as soon as its headers are in: past the limit with no file part yet,
      // the fields alone are too large.
      if (!file && fed > MAX_FIELDS_BYTES) return finish({ kind: 'fields-too-large' }, true);
      // After the file's content come the closing delimiter and perhaps fields S3 ignores.
      if (file && fed > file.start + file.max + closingLength(boundary) + AFTER_FILE_SLACK) tooLarge();
    };
    const onEnd = (): void => {
      body.off('close', onClose);
      parser.end();
    };
    const onGone = (): void => finish({ kind: 'aborted' }, false);
    const onClose = (): void => {
      if (!body.readableEnded) onGone();
    };

    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onGone);
    body.on('close', onClose);
  });
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
    pieces.push(Buffer.from(partHead(boundary, field.name), 'utf8'), parts[i], Buffer.from('\r\n'));
  });
  if (form.file) {
    pieces.push(
      Buffer.from(partHead(boundary, form.file.fieldName, form.file), 'utf8'),
      form.file.data,
      Buffer.from('\r\n'),
    );
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(pieces), contentType: `multipart/form-data; boundary=${boundary}` };
}
