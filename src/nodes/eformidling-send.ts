// The eformidling-send node: builds the SBD from the node's settings and msg, and sends it with its files.
import { describeCapabilities } from './capabilities/pick';
import { prepareMessage, type Sourced } from './send/prepare';
import { MessageSender } from './send/sender';
import { asIpError, exceptionNameOf, failMsg } from './shared/errors';
import { missingServerError, reported, useServer } from './shared/server';
import { ProgressStatus, shortId } from './shared/status';
import { msgValue, readInput, toText } from './shared/typed';
import { bareIdentifier } from '../schemas/sbd';
import type { Capability } from '../schemas/capabilities';
import type { EformidlingServer, Node, NodeAPI, NodeDef, NodeMessage } from './shared/types';

interface SendDef extends NodeDef {
  server?: string;
  receiver?: string;
  receiverType?: string;
  process?: string;
  documentType?: string;
}

/** msg.<key> when set, else the node's plain-text setting. */
function textInput(msg: NodeMessage, key: string, setting: unknown): Sourced<string> {
  const fromMsg = msgValue(msg, key);
  if (fromMsg !== undefined) return { value: String(fromMsg), field: `msg.${key}` };
  return { value: toText(setting), field: key };
}

/** msg.capability when it looks like one (from an eformidling-capabilities node). */
function capabilityOf(msg: NodeMessage): Capability | undefined {
  const capability = msg.capability as Capability | undefined;
  return capability && typeof capability === 'object' && typeof capability.process === 'string' && Array.isArray(capability.documentTypes) ? capability : undefined;
}

/** msg.process, else the process of msg.capability (picked by a capabilities node before this one), else the setting. */
function processInput(msg: NodeMessage, setting: unknown): Sourced<string> {
  const fromCapability = capabilityOf(msg)?.process;
  if (msgValue(msg, 'process') === undefined && fromCapability) return { value: fromCapability, field: 'msg.capability.process' };
  return textInput(msg, 'process', setting);
}

/** Adds what the receiver does support to the IP's "does not accept the process" error. */
async function explainRefusal(err: unknown, server: EformidlingServer, receiver: string | undefined): Promise<void> {
  if (exceptionNameOf(err) !== 'ReceiverDoesNotAcceptProcessException' || !receiver || !(err instanceof Error)) return;
  if (/\baccepts?:/.test(asIpError(err)?.description ?? '')) return; // the IP already said it
  try {
    const answer = await server.client.capabilities(receiver);
    err.message += `; receiver ${receiver} supports: ${describeCapabilities(answer.capabilities)}`;
  } catch {
    // the IP's own error is enough
  }
}

export = function register(RED: NodeAPI): void {
  function EformidlingSendNode(this: Node, def: SendDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const server = useServer(RED, node, def.server);
    const sender = server && new MessageSender(server.client);

    async function sendMsg(msg: NodeMessage, srv: EformidlingServer, messageSender: MessageSender): Promise<void> {
      const receiver = await readInput(RED, node, msg, 'receiver', 'receiver', def.receiver, def.receiverType);
      const process = processInput(msg, def.process);
      const documentType = textInput(msg, 'documentType', def.documentType);
      node.status({ fill: 'blue', shape: 'dot', text: 'checking' });
      const prepared = await prepareMessage({ orgnr: srv.orgnr, receiver, process, documentType, capability: capabilityOf(msg), msg });

      node.status({ fill: 'blue', shape: 'dot', text: 'sending' });
      const progress = new ProgressStatus(node, 'uploading');
      let result;
      try {
        result = await reported(srv, messageSender.send(prepared, (sent, total) => progress.update(sent, total)));
      } catch (err) {
        const to = prepared.sbd.standardBusinessDocumentHeader.receiver?.[0]?.identifier.value;
        await explainRefusal(err, srv, bareIdentifier(to));
        throw err;
      }
      msg.payload = result.sbd;
      msg.messageId = result.messageId;
      msg.conversationId = result.conversationId;
      delete msg.ipError;
      node.status({ fill: 'green', shape: 'dot', text: `sent ${shortId(result.messageId)}` });
    }

    node.on('input', (msg, send, done) => {
      if (!server || !sender) return failMsg(node, msg, missingServerError(), done);
      sendMsg(msg, server, sender).then(
        () => {
          send(msg);
          done();
        },
        (err: unknown) => failMsg(node, msg, err, done),
      );
    });
  }

  RED.nodes.registerType('eformidling-send', EformidlingSendNode);
};
