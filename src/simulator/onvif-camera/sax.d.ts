// The part of sax 1.x (node-onvif's XML parser, through xml2js) the simulated ONVIF camera (xml-tree.ts) uses, in namespace mode.
declare module 'sax' {
  export interface QualifiedAttribute {
    name: string;
    value: string;
    prefix: string;
    local: string;
    uri: string;
  }

  export interface QualifiedTag {
    name: string;
    prefix: string;
    local: string;
    uri: string;
    attributes: Record<string, QualifiedAttribute>;
    isSelfClosing: boolean;
  }

  export interface SAXParser {
    onopentag: (tag: QualifiedTag) => void;
    onclosetag: (name: string) => void;
    ontext: (text: string) => void;
    oncdata: (text: string) => void;
    onerror: (err: Error) => void;
    write(chunk: string): SAXParser;
    close(): SAXParser;
  }

  export function parser(strict: boolean, opts: { xmlns: true; trim?: boolean; normalize?: boolean }): SAXParser;

  const sax: { parser: typeof parser };
  export default sax;
}
