// The eformidling-capabilities node: what a receiver supports, and the one capability to send with.
import { parsePrefer, pickCapability } from './capabilities/pick';
import { receiverForLookup, securityLevelOf } from './capabilities/lookup';
import { failMsg } from './shared/errors';
import { findServer, missingServerError, reported, useServer } from './shared/server';
import { msgValue, readInput, toText } from './shared/typed';
import type { AdminRequest, AdminResponse, EformidlingServer, Node, NodeAPI, NodeDef, NodeMessage } from './shared/types';

interface CapabilitiesDef extends NodeDef {
  server?: string;
  receiver?: string;
  receiverType?: string;
  process?: string;
  documentType?: string;
  securityLevel?: string | number;
  prefer?: string;
}

export = function register(RED: NodeAPI): void {
  function EformidlingCapabilitiesNode(this: Node, def: CapabilitiesDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const server = useServer(RED, node, def.server);

    async function lookUp(msg: NodeMessage, srv: EformidlingServer): Promise<void> {
      const receiverInput = await readInput(RED, node, msg, 'receiver', 'receiver', def.receiver, def.receiverType);
      const receiver = receiverForLookup(receiverInput.value, receiverInput.field);
      const process = toText(msgValue(msg, 'process')) ?? toText(def.process);
      const documentType = toText(msgValue(msg, 'documentType')) ?? toText(def.documentType);
      const level = await readInput(RED, node, msg, 'securityLevel', 'securityLevel', def.securityLevel);
      const securityLevel = securityLevelOf(level.value, level.field);
      const prefer = parsePrefer(msgValue(msg, 'prefer') ?? def.prefer);

      node.status({ fill: 'blue', shape: 'dot', text: `looking up ${receiver}` });
      const answer = await reported(srv, srv.client.capabilities(receiver, securityLevel === undefined ? undefined : { securityLevel }));
      msg.payload = answer.capabilities;
      delete msg.capability; // a failed pick must not leave an earlier one behind
      const capability = pickCapability(receiver, answer.capabilities, { process, documentType, prefer });
      msg.capability = capability;
      delete msg.ipError;
      node.status({ fill: 'green', shape: 'dot', text: `${capability.serviceIdentifier} for ${receiver}` });
    }

    node.on('input', (msg, send, done) => {
      if (!server) return failMsg(node, msg, missingServerError(), done);
      lookUp(msg, server).then(
        () => {
          send(msg);
          done();
        },
        (err: unknown) => failMsg(node, msg, err, done),
      );
    });
  }

  RED.nodes.registerType('eformidling-capabilities', EformidlingCapabilitiesNode);

  // "Look up" in the node's dialog: the capabilities of a receiver through a deployed config node.
  RED.httpAdmin.get('/eformidling/capabilities/:server', RED.auth.needsPermission('eformidling-capabilities.read'), (req: AdminRequest, res: AdminResponse) => {
    const server = findServer(RED, req.params.server);
    if (!server) {
      res.status(404).json({ message: 'The eFormidling configuration is not deployed yet: deploy it first, then look up again.' });
      return;
    }
    let receiver: string;
    let securityLevel: number | undefined;
    try {
      receiver = receiverForLookup(req.query.receiver, 'receiver');
      securityLevel = securityLevelOf(req.query.securityLevel, 'securityLevel');
    } catch (err) {
      res.status(400).json({ message: (err as Error).message });
      return;
    }
    reported(server, server.client.capabilities(receiver, securityLevel === undefined ? undefined : { securityLevel })).then(
      (answer) => res.json({ receiver, capabilities: answer.capabilities }),
      (err: unknown) => {
        const status = (err as { status?: number }).status;
        res.status(status && status >= 400 && status < 500 ? status : 502).json({ message: (err as Error).message, status: status ?? 0 });
      },
    );
  });
};
