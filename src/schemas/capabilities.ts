import { z } from 'zod';
import { TolerantServiceIdentifier } from './common';

export const DocumentType = z.looseObject({
  type: z.string().nullish(),
  standard: z.string(),
});

export const CapabilityAddress = z.looseObject({
  name: z.string().optional(),
  street: z.string().optional(),
  postalCode: z.string().optional(),
  postalArea: z.string().optional(),
  country: z.string().optional(),
});

export const Capability = z.looseObject({
  process: z.string(),
  serviceIdentifier: TolerantServiceIdentifier,
  documentTypes: z.array(DocumentType).default([]),
  postAddress: CapabilityAddress.optional(),
  returnAddress: CapabilityAddress.optional(),
  digitalPostAddress: z.looseObject({ supplier: z.string().optional(), address: z.string().optional() }).optional(),
});
export type Capability = z.infer<typeof Capability>;

export const Capabilities = z.looseObject({
  capabilities: z.array(Capability),
});
export type Capabilities = z.infer<typeof Capabilities>;
