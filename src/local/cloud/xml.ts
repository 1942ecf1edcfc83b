/**
 * The local cloud's XML, both ways, by fast-xml-parser: one builder writes every XML body the cloud
 * answers with (S3 errors and configurations, SQS Query responses and errors; IAM-style Query
 * answers later), one parser reads the XML it is sent (PutBucketCors). Nothing else in the cloud
 * escapes or concatenates XML.
 */
import { XMLBuilder, XMLParser, XMLValidator, type XmlBuilderOptions } from 'fast-xml-parser';

/**
 * An element's content: text, child elements (an object, in order), or a list (the element
 * repeated, once per item). Empty text and empty objects write `<Name/>`; an empty list writes
 * nothing; undefined members are left out.
 */
export type XmlContent = string | XmlElements | readonly XmlContent[];

/** Child elements by name, in document order; `@_name` keys are the element's attributes. */
export interface XmlElements {
  readonly [name: string]: XmlContent | undefined;
}

/** `<?xml version="1.0" encoding="UTF-8"?>`, as S3 starts its bodies. */
export const UTF8_DECLARATION = { '@_version': '1.0', '@_encoding': 'UTF-8' } as const;
/** `<?xml version="1.0"?>`, as SQS starts its Query answers. */
export const PLAIN_DECLARATION = { '@_version': '1.0' } as const;

/**
 * What element text escapes: `&` and `<` (XML requires them), `>` (as AWS writes it), and carriage
 * returns as `&#xD;` (as SQS writes them: a literal CR would reach clients as a line feed, since
 * XML parsers normalise line ends). Quotes stay as they are in text, as in S3's answers; attribute
 * values get theirs escaped by the builder itself.
 */
const TEXT_ENTITIES = [
  { regex: /&/g, val: '&amp;' },
  { regex: /</g, val: '&lt;' },
  { regex: />/g, val: '&gt;' },
  { regex: /\r/g, val: '&#xD;' },
];

/**
 * fast-xml-builder reads its escapes from an `entities` option (its defaults hold the five XML
 * entities) that its type declarations leave out; a unit test holds the CR escape to it.
 */
type BuilderOptions = XmlBuilderOptions & { readonly entities: typeof TEXT_ENTITIES };

const builder = new XMLBuilder({
  ignoreAttributes: false,
  suppressEmptyNode: true,
  entities: TEXT_ENTITIES,
} as BuilderOptions);

/**
 * A whole XML document: the declaration (attributes, e.g. UTF8_DECLARATION), then `root` (one
 * element name and its content).
 * @param declaration default UTF8_DECLARATION
 */
export function xmlDocument(
  root: XmlElements,
  declaration: Readonly<Record<string, string>> = UTF8_DECLARATION,
): string {
  return builder.build({ '?xml': declaration, ...root });
}

/**
 * Text stays text (no number conversion), surrounding whitespace is trimmed, and character
 * references (`&#xD;`, `&#65;`) are decoded: fast-xml-parser decodes them only under
 * `htmlEntities`, which also reads HTML's named entities (`&nbsp;`), harmless here.
 */
// eslint-disable-next-line @typescript-eslint/no-deprecated -- still honoured by 5.x; it decodes the references above
const parser = new XMLParser({ parseTagValue: false, htmlEntities: true });

/**
 * Parses an XML request body into plain objects (a repeated element becomes a list, attributes are
 * dropped); undefined when it is not well-formed XML.
 */
export function parseXmlBody(xml: string): Record<string, unknown> | undefined {
  if (XMLValidator.validate(xml) !== true) return undefined;
  return parser.parse(xml) as Record<string, unknown>;
}
