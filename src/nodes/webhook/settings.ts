import { SUBSCRIPTION_EVENTS, SUBSCRIPTION_RESOURCES, WEBHOOK_FILTER } from '../../schemas/webhook';
import { normalizePath } from './push-endpoint';

type Resource = (typeof SUBSCRIPTION_RESOURCES)[number];
type Event = (typeof SUBSCRIPTION_EVENTS)[number];

/** The eformidling-webhook-in node's properties as they arrive in the flow. */
export interface WebhookNodeProperties {
  path?: unknown;
  publicUrl?: unknown;
  subscriptionName?: unknown;
  resource?: unknown;
  event?: unknown;
  filter?: unknown;
  manage?: unknown;
  deleteOnRemove?: unknown;
}

export interface WebhookSettings {
  path: string;
  publicUrl: string;
  subscriptionName: string;
  resource: Resource;
  event: Event;
  /** Empty = every event of the resource. */
  filter: string;
  manage: boolean;
  deleteOnRemove: boolean;
}

export const DEFAULT_PATH = '/eformidling/events';
export const DEFAULT_PUBLIC_URL = 'http://localhost:1880';

/** Reads and checks the node's settings; a bad one is an error naming the property. */
export function readWebhookSettings(props: WebhookNodeProperties): WebhookSettings {
  const path = normalizePath(text(props.path) || DEFAULT_PATH);
  const resource = (text(props.resource) || 'all') as Resource;
  if (!SUBSCRIPTION_RESOURCES.includes(resource)) throw new Error(`resource: expected "all" or "messages", got "${resource}"`);
  const event = (text(props.event) || 'all') as Event;
  if (!SUBSCRIPTION_EVENTS.includes(event)) throw new Error(`event: expected "all" or "status", got "${event}"`);
  const filter = text(props.filter);
  if (filter && !WEBHOOK_FILTER.test(filter)) {
    throw new Error(
      `filter: expected key=value[,value] parts joined by & with the keys status, serviceIdentifier and direction ` +
        `(such as direction=INCOMING&status=INNKOMMENDE_MOTTATT), got "${filter}"`,
    );
  }
  return {
    path,
    publicUrl: text(props.publicUrl) || DEFAULT_PUBLIC_URL,
    subscriptionName: text(props.subscriptionName) || `node-red ${path}`,
    resource,
    event,
    filter,
    manage: toBoolean(props.manage, true),
    deleteOnRemove: toBoolean(props.deleteOnRemove, true),
  };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : value === undefined || value === null ? '' : String(value).trim();
}

/** Checkboxes give booleans; hand-written flows may say "true"/"false". */
function toBoolean(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'boolean') return value;
  return String(value).trim().toLowerCase() === 'true';
}
