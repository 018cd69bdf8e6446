// The eformidling-config node: one Integrasjonspunkt connection (client) shared by every node that uses it.
import { IntegrasjonspunktClient } from '../client';
import { KNOWN_DOCUMENT_TYPES, KNOWN_PROCESSES } from '../schemas/processes';
import { clientOptions, type ConfigSettings } from './config/client-options';
import { ConnectionState } from './config/connection-state';
import { testConnection } from './config/test-connection';
import { toText } from './shared/typed';
import type { AdminRequest, AdminResponse, EformidlingServer, Node, NodeAPI, NodeDef } from './shared/types';

interface ConfigDef extends NodeDef {
  url?: string;
  orgnr?: string;
  timeout?: string | number;
  tls?: string;
}

/** The editor sends this instead of a stored password it never received. */
const PASSWORD_PLACEHOLDER = '__PWRD__';

function sameOrigin(a: unknown, b: unknown): boolean {
  try {
    return new URL(String(a)).origin === new URL(String(b)).origin;
  } catch {
    return false;
  }
}

/** A stand-in client for a config node whose settings are unusable: every request fails with that reason. */
function brokenClient(url: string, reason: Error): IntegrasjonspunktClient {
  return new Proxy({} as IntegrasjonspunktClient, {
    get(_target, prop) {
      if (prop === 'url') return url;
      if (prop === 'close') return async () => undefined;
      if (prop === 'then') return undefined;
      return async () => {
        throw reason;
      };
    },
  });
}

export = function register(RED: NodeAPI): void {
  function EformidlingConfigNode(this: EformidlingServer, def: ConfigDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const state = new ConnectionState();
    const credentials = node.credentials ?? {};
    let broken = false;
    node.orgnr = (toText(def.orgnr) ?? '').replace(/^0192:/, '');
    if (node.orgnr && !/^\d{9}$/.test(node.orgnr)) {
      node.error(`eFormidling configuration "${def.name || node.id}": orgnr: expected a 9-digit organisation number such as 910000009, got "${node.orgnr}"`);
    }
    try {
      const options = clientOptions(RED, { url: def.url, timeout: def.timeout, tls: def.tls, username: credentials.username, password: credentials.password });
      node.url = options.url;
      node.client = new IntegrasjonspunktClient(options);
    } catch (err) {
      const reason = err instanceof Error ? err : new Error(String(err));
      node.url = String(def.url ?? '');
      node.client = brokenClient(node.url, reason);
      broken = true;
      state.misconfigured();
      node.error(`eFormidling configuration "${def.name || node.id}": ${reason.message}`);
    }

    // Like core MQTT connecting on the first user: one cheap request after deploy shows the state at once.
    let probe: NodeJS.Timeout | undefined;
    let closed = false;
    node.register = (user: Node) => {
      state.register(user);
      if (state.userCount === 1 && !probe && !broken) {
        probe = setTimeout(() => {
          node.client.listStatuses({ size: 1 }).then(
            () => !closed && state.report(),
            (err: unknown) => !closed && state.report(err),
          );
        }, 0);
      }
    };
    node.deregister = (user: Node) => state.deregister(user);
    node.reportResult = (err?: unknown) => {
      if (!closed) state.report(err);
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      if (probe) clearTimeout(probe);
      node.client.close().then(done, done);
    });
  }

  RED.nodes.registerType('eformidling-config', EformidlingConfigNode, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });

  // Suggestions for the process and document type fields of the capabilities and send dialogs.
  RED.httpAdmin.get('/eformidling/suggestions', RED.auth.needsPermission('eformidling-config.read'), (_req: AdminRequest, res: AdminResponse) => {
    res.json({ processes: KNOWN_PROCESSES, documentTypes: KNOWN_DOCUMENT_TYPES });
  });

  // "Test connection" in the config dialog: checks the settings as typed, before or after deploying.
  RED.httpAdmin.post('/eformidling/test-connection', RED.auth.needsPermission('eformidling-config.write'), (req: AdminRequest, res: AdminResponse) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const id = toText(body.id);
    let password = toText(body.password);
    if (body.password === PASSWORD_PLACEHOLDER) {
      // The stored password only goes to the address it was deployed with, never to one typed in the dialog.
      const deployed = id ? (RED.nodes.getNode(id) as EformidlingServer | null) : null;
      if (!deployed || !sameOrigin(deployed.url, body.url)) {
        res.json({ ok: false, message: `The stored password belongs to ${deployed?.url ?? 'the deployed configuration'}; type the password again to test ${String(body.url)}.` });
        return;
      }
      password = RED.nodes.getCredentials(deployed.id)?.password;
    }
    const settings: ConfigSettings = {
      url: body.url,
      timeout: body.timeout,
      tls: body.tls,
      username: toText(body.username),
      password,
    };
    let client: IntegrasjonspunktClient;
    try {
      client = new IntegrasjonspunktClient({ ...clientOptions(RED, settings), retries: 0 });
    } catch (err) {
      res.json({ ok: false, message: err instanceof Error ? err.message : String(err) });
      return;
    }
    testConnection(client, toText(body.orgnr))
      .then((result) => res.json(result))
      .catch((err: unknown) => res.json({ ok: false, message: err instanceof Error ? err.message : String(err) }))
      .finally(() => client.close().catch(() => undefined));
  });
};
