import { ValidationError } from '../schemas/format';

/** One element of a parsed XML document. Names are local names (namespace prefix dropped). */
export interface XmlElement {
  name: string;
  /** The name as written, with its prefix. */
  qname: string;
  /** Attributes by the name as written (`xsi:type`). */
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (CDATA included), entities decoded, not trimmed. */
  text: string;
}

const NAME = /[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/y;
const ATTRIBUTE = /\s+([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
const TAG_END = /\s*(\/?)>/y;
const CLOSE_TAG = /<\/([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*>/y;

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function escapeXml(value: string): string {
  return value
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '') // not allowed in XML 1.0
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[A-Za-z]+);/g, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref] ?? whole;
  });
}

function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? qname : qname.slice(colon + 1);
}

/**
 * A small, strict reader for data-style XML (no DTDs): elements, attributes, text, CDATA, comments and
 * processing instructions. Enough for arkivmelding.xml and ASiC manifests; `what` names the document in errors.
 */
export function parseXml(xml: string, what: string): XmlElement {
  function fail(at: number, problem: string): never {
    const line = xml.slice(0, at).split('\n').length;
    throw new ValidationError(`${what}: malformed XML at line ${line}: ${problem}`);
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;

  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? xml.length : lt;
    if (textEnd > i) {
      const text = xml.slice(i, textEnd);
      if (stack.length) stack[stack.length - 1].text += decodeEntities(text);
      else if (text.trim()) fail(i, 'text outside the root element');
    }
    if (lt < 0) break;
    i = lt;

    if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i);
      if (end < 0) fail(i, 'unterminated <?...?>');
      i = end + 2;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) fail(i, 'unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i);
      if (end < 0) fail(i, 'unterminated CDATA section');
      if (!stack.length) fail(i, 'CDATA outside the root element');
      stack[stack.length - 1].text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<!', i)) {
      fail(i, 'DOCTYPE and entity declarations are not accepted');
    } else if (xml.startsWith('</', i)) {
      CLOSE_TAG.lastIndex = i;
      const close = CLOSE_TAG.exec(xml);
      if (!close) fail(i, 'bad end tag');
      const open = stack.pop();
      if (!open) fail(i, `unexpected end tag </${close[1]}>`);
      if (open.qname !== close[1]) fail(i, `expected </${open.qname}> but found </${close[1]}>`);
      i = CLOSE_TAG.lastIndex;
    } else {
      NAME.lastIndex = i + 1;
      const name = NAME.exec(xml);
      if (!name) fail(i, 'bad start tag');
      const element: XmlElement = { name: localName(name[0]), qname: name[0], attributes: {}, children: [], text: '' };
      let at = NAME.lastIndex;
      for (;;) {
        ATTRIBUTE.lastIndex = at;
        const attribute = ATTRIBUTE.exec(xml);
        if (!attribute) break;
        element.attributes[attribute[1]] = decodeEntities(attribute[2] ?? attribute[3]);
        at = ATTRIBUTE.lastIndex;
      }
      TAG_END.lastIndex = at;
      const end = TAG_END.exec(xml);
      if (!end) fail(at, `bad attribute or unclosed tag <${element.qname}>`);
      i = TAG_END.lastIndex;

      if (stack.length) stack[stack.length - 1].children.push(element);
      else if (root) fail(lt, 'more than one root element');
      else root = element;
      if (end[1] !== '/') stack.push(element);
    }
  }
  if (stack.length) fail(xml.length, `<${stack[stack.length - 1].qname}> is not closed`);
  if (!root) fail(0, 'no root element');
  return root;
}

/** The local part of an `xsi:type` (or any `*:type`) attribute, e.g. `saksmappe`. */
export function xsiType(element: XmlElement): string | undefined {
  for (const [key, value] of Object.entries(element.attributes)) {
    if (key === 'type' || key.endsWith(':type')) return localName(value.trim());
  }
  return undefined;
}

export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

export function childText(element: XmlElement, name: string): string | undefined {
  const child = element.children.find((c) => c.name === name);
  const text = child?.text.trim();
  return text ? text : undefined;
}

/** Depth-first search for the first element that matches. */
export function findElement(element: XmlElement, match: (e: XmlElement) => boolean): XmlElement | undefined {
  for (const child of element.children) {
    if (match(child)) return child;
    const found = findElement(child, match);
    if (found) return found;
  }
  return undefined;
}
