// A bounded, namespace-aware XML reader for the event service's replies. The body is already
// capped by the HTTP layer (max_body_bytes); here a document is refused once it nests deeper than
// MAX_DEPTH or holds more than MAX_ELEMENTS elements, so a hostile camera's reply costs bounded
// memory and time. Elements are known by namespace URI and local name, never by prefix; an
// element in a namespace nobody asked about is simply not looked at.
import sax from 'sax';

export const MAX_DEPTH = 32;
export const MAX_ELEMENTS = 20_000;
/** Text kept per element; the rest is dropped (a notification's values are short). */
const MAX_TEXT = 4096;

export interface XmlNode {
  uri: string;
  local: string;
  /** The prefix the element was written with ('' for none), for naming a vendor's topic namespace as the camera does. */
  prefix: string;
  /** Attributes by local name (namespaced attributes too: ONVIF's are unqualified). */
  attributes: Record<string, string>;
  children: XmlNode[];
  text: string;
  /** Namespace prefixes in scope (sax's binding map), for QNames in text such as a topic expression. */
  ns: Readonly<Record<string, string>>;
}

export class XmlLimitError extends Error {}

export function parseBoundedXml(xml: string): XmlNode {
  const parser = sax.parser(true, { xmlns: true });
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  let count = 0;
  let failure: Error | undefined;
  parser.onerror = (err) => {
    failure ??= err;
    throw err;
  };
  parser.onopentag = (tag) => {
    count += 1;
    if (stack.length >= MAX_DEPTH) throw (failure = new XmlLimitError(`is nested deeper than ${MAX_DEPTH} elements`));
    if (count > MAX_ELEMENTS) throw (failure = new XmlLimitError(`has more than ${MAX_ELEMENTS} elements`));
    const attributes: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const a of Object.values(tag.attributes)) {
      if (a.prefix === 'xmlns' || a.name === 'xmlns') continue;
      attributes[a.local] = a.value;
    }
    const node: XmlNode = { uri: tag.uri, local: tag.local, prefix: tag.prefix, attributes, children: [], text: '', ns: (tag as { ns?: Record<string, string> }).ns ?? {} };
    const parent = stack.at(-1);
    if (parent) parent.children.push(node);
    else root ??= node;
    stack.push(node);
  };
  parser.onclosetag = () => void stack.pop();
  parser.ontext = (text) => {
    const current = stack.at(-1);
    if (current && current.text.length < MAX_TEXT) current.text += text.slice(0, MAX_TEXT - current.text.length);
  };
  parser.oncdata = parser.ontext;
  try {
    parser.write(xml).close();
  } catch (err) {
    failure ??= err as Error;
  }
  if (failure) throw failure;
  if (!root) throw new Error('no root element');
  return root;
}

export function childOf(node: XmlNode | undefined, uri: string, local: string): XmlNode | undefined {
  return node?.children.find((c) => c.uri === uri && c.local === local);
}

export function childrenOf(node: XmlNode | undefined, uri: string, local: string): XmlNode[] {
  return node?.children.filter((c) => c.uri === uri && c.local === local) ?? [];
}

/** The first child with this local name, whatever its namespace (ONVIF's Message/Message is tt: in some firmware, unqualified in others). */
export function childNamed(node: XmlNode | undefined, local: string): XmlNode | undefined {
  return node?.children.find((c) => c.local === local);
}

export function textOf(node: XmlNode | undefined): string {
  return node?.text.trim() ?? '';
}
