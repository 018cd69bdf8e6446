import type { Capability } from '../../schemas/capabilities';

export interface CapabilityWish {
  /** Process URN the capability must have. */
  process?: string;
  /** Business message type (`arkivmelding`) or document type URN (`urn:no:difi:arkivmelding:xsd::arkivmelding`). */
  documentType?: string;
  /** Service identifiers in order of preference; services not listed come after, in the IP's order. */
  prefer?: string[];
}

/** "DPO, DPF,dpv" → ["DPO", "DPF", "DPV"] */
export function parsePrefer(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => String(v).trim().toUpperCase()).filter(Boolean);
  if (typeof value !== 'string') return [];
  return value
    .split(/[\s,;]+/)
    .map((v) => v.trim().toUpperCase())
    .filter(Boolean);
}

function hasDocumentType(capability: Capability, documentType: string): boolean {
  const wanted = documentType.toLowerCase();
  return capability.documentTypes.some((d) => d.type?.toLowerCase() === wanted || d.standard.toLowerCase() === wanted);
}

/** One line per capability: "urn:…:administrasjon:ver1.0 via DPO (arkivmelding, status)". */
export function describeCapabilities(capabilities: Capability[]): string {
  if (capabilities.length === 0) return 'nothing';
  return capabilities
    .map((c) => {
      const types = c.documentTypes.map((d) => d.type ?? d.standard).join(', ');
      return `${c.process} via ${c.serviceIdentifier}${types ? ` (${types})` : ''}`;
    })
    .join('; ');
}

/**
 * The capability that fits the process and document type, first in the `prefer` order of services.
 * Throws an error saying what the receiver does support when none fits.
 */
export function pickCapability(receiver: string, capabilities: Capability[], wish: CapabilityWish): Capability {
  const fitting = capabilities.filter(
    (c) => (!wish.process || c.process === wish.process) && (!wish.documentType || hasDocumentType(c, wish.documentType)),
  );
  if (fitting.length === 0) {
    const asked = [wish.process && `process ${wish.process}`, wish.documentType && `document type ${wish.documentType}`].filter(Boolean).join(' and ');
    if (capabilities.length === 0) throw new Error(`Receiver ${receiver} supports no process at all (empty capabilities)`);
    throw new Error(`Receiver ${receiver} does not support ${asked}; it supports: ${describeCapabilities(capabilities)}`);
  }
  const prefer = wish.prefer ?? [];
  const rank = (c: Capability) => {
    const at = prefer.indexOf(String(c.serviceIdentifier).toUpperCase());
    return at < 0 ? prefer.length : at;
  };
  // A stable sort keeps the IP's order among equally preferred services.
  return [...fitting].sort((a, b) => rank(a) - rank(b))[0];
}
