// A namespace-aware XML tree for the simulated ONVIF camera: elements are known by namespace URI and local
// name, never by prefix, as a real SOAP stack reads them. Built with sax in strict mode, so what
// is not well-formed XML 1.0 is an error.
import sax from 'sax';

export interface XmlElement {
  uri: string;
  local: string;
  /** Attributes by `{uri}local`, or by local name when they have no namespace. */
  attributes: Map<string, string>;
  children: XmlElement[];
  text: string;
}

export function parseXml(xml: string): XmlElement {
  const parser = sax.parser(true, { xmlns: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let failure: Error | undefined;
  parser.onerror = (err) => {
    failure ??= err;
  };
  parser.onopentag = (tag) => {
    const attributes = new Map<string, string>();
    for (const a of Object.values(tag.attributes)) {
      if (a.prefix === 'xmlns' || a.name === 'xmlns') continue;
      attributes.set(a.uri ? `{${a.uri}}${a.local}` : a.local, a.value);
    }
    const element: XmlElement = { uri: tag.uri, local: tag.local, attributes, children: [], text: '' };
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else root ??= element;
    stack.push(element);
  };
  parser.onclosetag = () => void stack.pop();
  parser.ontext = (text) => {
    const current = stack.at(-1);
    if (current) current.text += text;
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

export function child(element: XmlElement | undefined, uri: string, local: string): XmlElement | undefined {
  return element?.children.find((c) => c.uri === uri && c.local === local);
}

export function childText(element: XmlElement | undefined, uri: string, local: string): string | undefined {
  const found = child(element, uri, local);
  return found === undefined ? undefined : found.text.trim();
}
