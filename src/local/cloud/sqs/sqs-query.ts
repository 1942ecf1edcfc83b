/**
 * SQS's Query protocol (form-encoded requests, XML answers), translated to and from the JSON
 * protocol the stand-in speaks. Current SDKs speak JSON; older clients still speak Query: the AWS
 * CLI v2 before 2.13 (Debian 12's `awscli` is 2.9.19), boto3 before 1.28.x, and anything pinned
 * to them. The gateway turns a Query request into the equivalent JSON request and the JSON answer
 * back into the XML AWS returns, so those clients work unchanged.
 */

/** The XML namespace of SQS Query answers. */
const SQS_XMLNS = 'http://queue.amazonaws.com/doc/2012-11-05/';

/** The Query API version of SQS. */
export const SQS_QUERY_VERSION = '2012-11-05';

/** Members whose JSON shape is an integer (Query sends every value as text). */
const INTEGER_MEMBERS = new Set(['MaxNumberOfMessages', 'WaitTimeSeconds', 'VisibilityTimeout', 'DelaySeconds', 'MaxResults']);

/** Flattened Query lists and the JSON member they become. */
const LIST_MEMBERS: Record<string, string> = {
  AttributeName: 'AttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
  TagKey: 'TagKeys',
};

type FormTree = { [name: string]: string | FormTree };

/** `A.1.B=x` becomes { A: { '1': { B: 'x' } } }. */
function toTree(params: URLSearchParams): FormTree {
  const root: FormTree = {};
  for (const [name, value] of params) {
    const path = name.split('.');
    let node = root;
    for (const segment of path.slice(0, -1)) {
      const next = node[segment];
      if (typeof next === 'object') node = next;
      else node = node[segment] = {};
    }
    node[path[path.length - 1] ?? name] = value;
  }
  return root;
}

/** The members of a flattened list (`X.1`, `X.2`, …) in index order. */
function indexed(node: string | FormTree | undefined): Array<string | FormTree> {
  if (node === undefined) return [];
  if (typeof node === 'string') return [node];
  return Object.keys(node)
    .filter((index) => /^\d+$/.test(index))
    .sort((a, b) => Number(a) - Number(b))
    .map((index) => node[index] as string | FormTree);
}

const text = (node: string | FormTree | undefined): string | undefined => (typeof node === 'string' ? node : undefined);
const subtree = (node: string | FormTree | undefined): FormTree => (typeof node === 'object' ? node : {});

function messageAttributeValue(node: FormTree): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  if (text(node.DataType) !== undefined) value.DataType = text(node.DataType);
  if (text(node.StringValue) !== undefined) value.StringValue = text(node.StringValue);
  if (text(node.BinaryValue) !== undefined) value.BinaryValue = text(node.BinaryValue);
  const strings = indexed(node.StringListValue).map(text);
  const binaries = indexed(node.BinaryListValue).map(text);
  if (strings.length > 0) value.StringListValues = strings;
  if (binaries.length > 0) value.BinaryListValues = binaries;
  return value;
}

function structure(tree: FormTree, action: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, node] of Object.entries(tree)) {
    if (name === 'Action' || name === 'Version') continue;
    const listMember = LIST_MEMBERS[name];
    if (listMember) {
      out[listMember] = indexed(node).map(text);
    } else if (name === 'Attribute') {
      out.Attributes = Object.fromEntries(indexed(node).map((e) => [text(subtree(e).Name) ?? '', text(subtree(e).Value) ?? '']));
    } else if (name === 'Tag') {
      // CreateQueue names its tag map in lower case in the JSON protocol; TagQueue does not.
      out[action === 'CreateQueue' ? 'tags' : 'Tags'] = Object.fromEntries(indexed(node).map((e) => [text(subtree(e).Key) ?? '', text(subtree(e).Value) ?? '']));
    } else if (name === 'MessageAttribute' || name === 'MessageSystemAttribute') {
      out[`${name}s`] = Object.fromEntries(indexed(node).map((e) => [text(subtree(e).Name) ?? '', messageAttributeValue(subtree(subtree(e).Value))]));
    } else if (name.endsWith('BatchRequestEntry')) {
      out.Entries = indexed(node).map((entry) => structure(subtree(entry), action));
    } else if (typeof node === 'string') {
      out[name] = INTEGER_MEMBERS.has(name) ? Number(node) : node;
    }
  }
  return out;
}

export interface SqsQueryRequest {
  /** The operation, e.g. 'ReceiveMessage'. */
  action: string;
  /** The equivalent JSON-protocol request body. */
  json: Record<string, unknown>;
}

/**
 * Reads a form-encoded body as an SQS Query request; undefined when it is not one (no Action, or
 * another service's Version such as SNS's 2010-03-31).
 */
export function parseSqsQuery(body: string): SqsQueryRequest | undefined {
  const params = new URLSearchParams(body);
  const action = params.get('Action');
  if (!action || !/^[A-Za-z]+$/.test(action) || params.get('Version') !== SQS_QUERY_VERSION) return undefined;
  return { action, json: structure(toTree(params), action) };
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#xD;' };

/** Escapes text for an XML element (carriage returns as &#xD;, as SQS does, so they survive parsing). */
export function xmlEscape(value: string): string {
  return value.replace(/[&<>"'\r]/g, (c) => XML_ESCAPES[c] ?? c);
}

const element = (name: string, content: string): string => `<${name}>${content}</${name}>`;

function messageAttributeValueXml(value: Record<string, unknown>): string {
  let xml = '';
  if (value.StringValue !== undefined) xml += element('StringValue', xmlEscape(String(value.StringValue)));
  if (value.BinaryValue !== undefined) xml += element('BinaryValue', xmlEscape(String(value.BinaryValue)));
  for (const s of (value.StringListValues as unknown[] | undefined) ?? []) xml += element('StringListValue', xmlEscape(String(s)));
  for (const b of (value.BinaryListValues as unknown[] | undefined) ?? []) xml += element('BinaryListValue', xmlEscape(String(b)));
  if (value.DataType !== undefined) xml += element('DataType', xmlEscape(String(value.DataType)));
  return xml;
}

/** The members of a JSON structure as Query XML (lists and maps flattened, as SQS writes them). */
function membersXml(value: Record<string, unknown>, action: string): string {
  let xml = '';
  for (const [name, member] of Object.entries(value)) {
    if (member === undefined || member === null) continue;
    if (name === 'Messages' && Array.isArray(member)) {
      for (const m of member) xml += element('Message', membersXml(m as Record<string, unknown>, action));
    } else if ((name === 'QueueUrls' || name === 'queueUrls') && Array.isArray(member)) {
      for (const url of member) xml += element('QueueUrl', xmlEscape(String(url)));
    } else if (name === 'Successful' && Array.isArray(member)) {
      for (const entry of member) xml += element(`${action}ResultEntry`, membersXml(entry as Record<string, unknown>, action));
    } else if (name === 'Failed' && Array.isArray(member)) {
      for (const entry of member) xml += element('BatchResultErrorEntry', membersXml(entry as Record<string, unknown>, action));
    } else if (name === 'Attributes' && typeof member === 'object') {
      for (const [key, v] of Object.entries(member as Record<string, unknown>)) {
        xml += element('Attribute', element('Name', xmlEscape(key)) + element('Value', xmlEscape(String(v))));
      }
    } else if (name === 'MessageAttributes' && typeof member === 'object') {
      for (const [key, v] of Object.entries(member as Record<string, Record<string, unknown>>)) {
        xml += element('MessageAttribute', element('Name', xmlEscape(key)) + element('Value', messageAttributeValueXml(v)));
      }
    } else if (name === 'Tags' && typeof member === 'object') {
      for (const [key, v] of Object.entries(member as Record<string, unknown>)) {
        xml += element('Tag', element('Key', xmlEscape(key)) + element('Value', xmlEscape(String(v))));
      }
    } else if (Array.isArray(member)) {
      for (const item of member) xml += element(name, typeof item === 'object' ? membersXml(item as Record<string, unknown>, action) : xmlEscape(String(item)));
    } else if (typeof member === 'object') {
      xml += element(name, membersXml(member as Record<string, unknown>, action));
    } else {
      xml += element(name, xmlEscape(String(member)));
    }
  }
  return xml;
}

/**
 * The SQS operations with no output shape: their answers hold only ResponseMetadata. Every other
 * operation's answer has its `<ActionResult>` element even when it is empty (an empty
 * ReceiveMessage is `<ReceiveMessageResult/>`), and Query clients read that element unconditionally:
 * without it boto3 raises KeyError 'ReceiveMessageResult' and the AWS CLI exits 255.
 */
const ACTIONS_WITHOUT_RESULT = new Set([
  'AddPermission',
  'ChangeMessageVisibility',
  'DeleteMessage',
  'DeleteQueue',
  'PurgeQueue',
  'RemovePermission',
  'SetQueueAttributes',
  'TagQueue',
  'UntagQueue',
]);

/** The Query XML answer for a successful JSON answer `json` (text, possibly empty) of `action`. */
export function sqsQueryResponse(action: string, json: string, requestId: string): string {
  const result = json.trim() ? (JSON.parse(json) as Record<string, unknown>) : {};
  const members = membersXml(result, action);
  const resultXml = members ? element(`${action}Result`, members) : ACTIONS_WITHOUT_RESULT.has(action) ? '' : `<${action}Result/>`;
  return `<?xml version="1.0"?><${action}Response xmlns="${SQS_XMLNS}">${resultXml}${element('ResponseMetadata', element('RequestId', requestId))}</${action}Response>`;
}

/**
 * The Query XML error for a JSON error answer. The code comes from `x-amzn-query-error`
 * ("<code>;<Sender|Receiver>") when the server sent it (the Query protocol's own codes, such as
 * AWS.SimpleQueueService.NonExistentQueue), else from the JSON `__type`.
 */
export function sqsQueryError(json: string, queryErrorHeader: string | undefined, status: number, requestId: string): string {
  let parsed: { __type?: string; message?: string; Message?: string } = {};
  try {
    parsed = JSON.parse(json) as typeof parsed;
  } catch {
    parsed = { message: json };
  }
  const [headerCode, headerFault] = (queryErrorHeader ?? '').split(';');
  const code = headerCode || (parsed.__type ?? 'InternalError').split('#').pop() || 'InternalError';
  const fault = headerFault || (status >= 500 ? 'Receiver' : 'Sender');
  const message = parsed.message ?? parsed.Message ?? '';
  const error = element('Type', fault) + element('Code', xmlEscape(code)) + element('Message', xmlEscape(message)) + '<Detail/>';
  return `<?xml version="1.0"?><ErrorResponse xmlns="${SQS_XMLNS}">${element('Error', error)}${element('RequestId', requestId)}</ErrorResponse>`;
}
