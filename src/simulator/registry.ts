import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Capability } from '../schemas/capabilities';
import type { Capabilities } from '../schemas/capabilities';
import { formatZodError } from '../schemas/format';
import { ARKIVMELDING_AREAS, arkivmeldingProcess } from '../schemas/processes';
import { bareIdentifier } from '../schemas/sbd';
import { SimulatorError } from './errors';

/** The process areas a hosted organisation accepts arkivmelding for (§3.3). */
export { ARKIVMELDING_AREAS };

/** Extra receivers for the simulated service registry, e.g. fixtures/registry.json. */
export interface RegistryFixture {
  receivers: Array<{ identifier: string; name?: string; capabilities: Capability[] }>;
}

const RegistryFixtureSchema = z.object({
  receivers: z.array(
    z.object({
      identifier: z.string().regex(/^(\d{9}|\d{11}|her-id:\d+|fastlege-for:\d{11})$/, {
        message: 'expected a 9-digit organisation number or an 11-digit person id',
      }),
      name: z.string().optional(),
      capabilities: z.array(Capability),
    }),
  ),
});


export const ARKIVMELDING_STANDARD = 'urn:no:difi:arkivmelding:xsd::arkivmelding';
export const ARKIVMELDING_RESPONSE_PROCESS = 'urn:no:difi:profile:arkivmelding:response:ver1.0';
export const AVTALT_PROCESS = 'urn:no:difi:profile:avtalt:avtalt:ver1.0';
export const AVTALT_RESPONSE_PROCESS = 'urn:no:difi:profile:avtalt:response:ver1.0';
export const AVTALT_STANDARD = 'urn:no:difi:avtalt:xsd::avtalt';


function documentType(standard: string) {
  return { type: standard.split('::')[1] ?? null, standard };
}

/** What the service registry answers for an organisation with its own IP on DPO (shape of real DPO records). */
export function hostedCapabilities(): Capability[] {
  const dpo = (process: string, standards: string[]): Capability => ({
    process,
    serviceIdentifier: 'DPO',
    documentTypes: standards.map(documentType),
  });
  return [
    ...ARKIVMELDING_AREAS.map((area) => dpo(arkivmeldingProcess(area), [ARKIVMELDING_STANDARD])),
    dpo(ARKIVMELDING_RESPONSE_PROCESS, [
      'urn:no:difi:arkivmelding:xsd::arkivmelding_kvittering',
      'urn:no:difi:arkivmelding:xsd::status',
      'urn:no:difi:arkivmelding:xsd::feil',
    ]),
    dpo(AVTALT_PROCESS, [AVTALT_STANDARD]),
    dpo(AVTALT_RESPONSE_PROCESS, [AVTALT_STANDARD, 'urn:no:difi:eformidling:xsd::status']),
  ];
}

interface Receiver {
  identifier: string;
  name?: string;
  capabilities: Capability[];
}

/** Lombok's toString of the IP's SRParameter, which the IP puts into its error texts. */
function srParameter(identifier: string, process?: string, securityLevel?: number): string {
  return `SRParameter(identifier=${identifier}, process=${process ?? null}, securityLevel=${securityLevel ?? null}, print=null, infoOnly=false, conversationId=null)`;
}

/** The simulator's service registry: hosted organisations on DPO, plus receivers from a fixture. */
export class ServiceRegistry {
  private readonly hosted: Set<string>;
  private readonly receivers = new Map<string, Receiver>();

  constructor(hosted: string[], fixture?: RegistryFixture) {
    this.hosted = new Set(hosted.map((h) => bareIdentifier(h) ?? h));
    for (const orgnr of this.hosted) {
      this.receivers.set(orgnr, { identifier: orgnr, capabilities: hostedCapabilities() });
    }
    if (fixture !== undefined) {
      const result = RegistryFixtureSchema.safeParse(fixture);
      if (!result.success) throw new Error(formatZodError(result.error, 'registry fixture'));
      // A fixture entry for a hosted organisation replaces its default capabilities.
      for (const r of result.data.receivers) {
        this.receivers.set(r.identifier, { identifier: r.identifier, name: r.name, capabilities: r.capabilities });
      }
    }
  }

  /** Loads a fixture file (`{ receivers: [...] }`); a missing or malformed file is an error naming the path. */
  static fromFile(path: string, hosted: string[] = []): ServiceRegistry {
    return new ServiceRegistry(hosted, ServiceRegistry.readFixture(path));
  }

  static readFixture(path: string): RegistryFixture {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`Cannot read the registry file ${path}: ${(err as Error).message}`);
    }
    try {
      return JSON.parse(text) as RegistryFixture;
    } catch (err) {
      throw new Error(`The registry file ${path} is not valid JSON: ${(err as Error).message}`);
    }
  }

  isHosted(orgnr: string): boolean {
    return this.hosted.has(bareIdentifier(orgnr) ?? orgnr);
  }

  /** The receiver's name from the fixture, if one was given. */
  nameOf(identifier: string): string | undefined {
    return this.receivers.get(bareIdentifier(identifier) ?? identifier)?.name;
  }

  /** GET /api/capabilities/{identifier}: every capability, or those of one process. */
  capabilities(identifier: string, query: { process?: string; securityLevel?: number } = {}): Capabilities {
    const id = bareIdentifier(identifier) ?? identifier;
    const receiver = this.receivers.get(id);
    if (!receiver) {
      // The IP has no message template for this exception, so its fallback format reaches the client.
      throw new SimulatorError(
        404,
        'IdentifierNotFoundException',
        `--no.difi.meldingsutveksling.exceptions.IdentifierNotFoundException-- [Service record not found for parameters: ${srParameter(id, query.process, query.securityLevel)}]`,
      );
    }
    const list = query.process ? receiver.capabilities.filter((c) => c.process === query.process) : receiver.capabilities;
    return { capabilities: structuredClone(list) };
  }

  /**
   * The capability a message to `receiver` with this process and document type (standard) travels by.
   * Like the IP, any lookup failure (unknown receiver too) is a 400 ReceiverDoesNotAcceptProcessException whose
   * description says why; ours also lists what the receiver does accept.
   */
  resolve(receiver: string, process: string, standard: string, securityLevel?: number): Capability {
    const id = bareIdentifier(receiver) ?? receiver;
    const known = this.receivers.get(id);
    const fail = (description: string) =>
      new SimulatorError(400, 'ReceiverDoesNotAcceptProcessException', `Receiver do not accept the document process ${process}`, {
        description,
      });
    if (!known) {
      throw fail(`Service record not found for parameters: ${srParameter(id, process, securityLevel)}`);
    }
    const match = known.capabilities.find((c) => c.process === process && c.documentTypes.some((d) => d.standard === standard));
    if (match) return structuredClone(match);
    throw fail(
      `Error looking up service record with document type '${standard}' and parameters: ${srParameter(id, process, securityLevel)}. ` +
        `Receiver ${id} accepts: ${describeCapabilities(known.capabilities)}`,
    );
  }
}

/** `process (DPO: standard, standard); …` */
export function describeCapabilities(capabilities: Capability[]): string {
  if (!capabilities.length) return 'nothing';
  return capabilities
    .map((c) => `${c.process} (${c.serviceIdentifier}: ${c.documentTypes.map((d) => d.standard).join(', ')})`)
    .join('; ');
}
