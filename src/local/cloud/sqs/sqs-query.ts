/**
 * SQS's Query protocol (form-encoded requests, XML answers), translated to and from the JSON
 * protocol the stand-in speaks. Current SDKs speak JSON; older clients still speak Query: the AWS
 * CLI v2 before 2.13 (Debian 12's `awscli` is 2.9.19), boto3 before 1.28.x, and anything pinned
 * to them. The gateway turns a Query request into the equivalent JSON request and the JSON answer
 * back into the XML AWS returns, so those clients work unchanged.
 */
import { PLAIN_DECLARATION, xmlDocument, type XmlContent, type XmlElements } from '../xml';

/** The XML namespace of SQS Query answers. */
const SQS_XMLNS = 'http://queue.amazonaws.com/doc/2012-11-05/';

/** The Query API version of SQS. */
export const SQS_QUERY_VERSION = '2012-11-05';

/** Members whose JSON shape is an integer (Query sends every value as text). */
const INTEGER_MEMBERS = new Set([
  'MaxNumberOfMessages',
  'WaitTimeSeconds',
  'VisibilityTimeout',
  'DelaySeconds',
  'MaxResults',
]);

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
    .map((index) => node[index]);
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
      out.Attributes = Object.fromEntries(
        indexed(node).map((e) => [text(subtree(e).Name) ?? '', text(subtree(e).Value) ?? '']),
      );
    } else if (name === 'Tag') {
      // CreateQueue names its tag map in lower case in the JSON protocol; TagQueue does not.
      out[action === 'CreateQueue' ? 'tags' : 'Tags'] = Object.fromEntries(
        indexed(node).map((e) => [text(subtree(e).Key) ?? '', text(subtree(e).Value) ?? '']),
      );
    } else if (name === 'MessageAttribute' || name === 'MessageSystemAttribute') {
      out[`${name}s`] = Object.fromEntries(
        indexed(node).map((e) => [text(subtree(e).Name) ?? '', messageAttributeValue(subtree(subtree(e).Value))]),
      );
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

/** A MessageAttributeValue as Query XML members (lists flattened, as SQS writes them). */
function messageAttributeValueTree(value: Record<string, unknown>): XmlElements {
  const text = (v: unknown): string | undefined =>
    v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
  const list = (v: unknown): string[] => ((v as unknown[] | undefined) ?? []).map(String);
  return {
    StringValue: text(value.StringValue),
    BinaryValue: text(value.BinaryValue),
    StringListValue: list(value.StringListValues),
    BinaryListValue: list(value.BinaryListValues),
    DataType: text(value.DataType),
  };
}

/** `{key: value}` as a flattened list of `{[keyName]: key, Value: value}` entries (SQS's map shape). */
const mapEntries = (map: object, keyName: string, value: (v: unknown) => XmlContent): XmlElements[] =>
  Object.entries(map).map(([key, v]) => ({ [keyName]: key, Value: value(v) }));

/** The members of a JSON structure as Query XML elements (lists and maps flattened, as SQS writes them). */
function membersTree(value: Record<string, unknown>, action: string): XmlElements {
  const tree: Record<string, XmlContent> = {};
  const nested = (item: unknown): XmlContent =>
    typeof item === 'object' && item !== null ? membersTree(item as Record<string, unknown>, action) : String(item);
  for (const [name, member] of Object.entries(value)) {
    if (member === undefined || member === null) continue;
    if (name === 'Messages' && Array.isArray(member)) tree.Message = member.map(nested);
    else if ((name === 'QueueUrls' || name === 'queueUrls') && Array.isArray(member))
      tree.QueueUrl = member.map(String);
    else if (name === 'Successful' && Array.isArray(member)) tree[`${action}ResultEntry`] = member.map(nested);
    else if (name === 'Failed' && Array.isArray(member)) tree.BatchResultErrorEntry = member.map(nested);
    else if (name === 'Attributes' && typeof member === 'object') tree.Attribute = mapEntries(member, 'Name', String);
    else if (name === 'MessageAttributes' && typeof member === 'object') {
      tree.MessageAttribute = mapEntries(member, 'Name', (v) =>
        messageAttributeValueTree(v as Record<string, unknown>),
      );
    } else if (name === 'Tags' && typeof member === 'object') tree.Tag = mapEntries(member, 'Key', String);
    else if (Array.isArray(member)) tree[name] = member.map(nested);
    else tree[name] = nested(member);
  }
  return tree;
}

/** True when a structure's members write nothing: every one is an empty list. */
const writesNothing = (members: XmlElements): boolean =>
  Object.values(members).every((m) => Array.isArray(m) && m.length === 0);

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
  const members = membersTree(result, action);
  // An empty result element is still written (`<ReceiveMessageResult/>`), except for operations without one.
  const resultElement =
    writesNothing(members) && ACTIONS_WITHOUT_RESULT.has(action) ? {} : { [`${action}Result`]: members };
  const response = { '@_xmlns': SQS_XMLNS, ...resultElement, ResponseMetadata: { RequestId: requestId } };
  return xmlDocument({ [`${action}Response`]: response }, PLAIN_DECLARATION);
}

/**
 * The Query XML error for a JSON error answer. The code comes from `x-amzn-query-error`
 * ("<code>;<Sender|Receiver>") when the server sent it (the Query protocol's own codes, such as
 * AWS.SimpleQueueService.NonExistentQueue), else from the JSON `__type`.
 */
export function sqsQueryError(
  json: string,
  queryErrorHeader: string | undefined,
  status: number,
  requestId: string,
): string {
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
  const error = { Type: fault, Code: code, Message: message, Detail: '' };
  return xmlDocument(
    { ErrorResponse: { '@_xmlns': SQS_XMLNS, Error: error, RequestId: requestId } },
    PLAIN_DECLARATION,
  );
}
