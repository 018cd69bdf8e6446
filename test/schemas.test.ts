import assert from 'node:assert/strict';
import {
  Capabilities,
  Conversation,
  IpErrorBody,
  MessageStatus,
  Page,
  StandardBusinessDocumentSchema,
  Subscription,
  ValidationError,
  WebhookEvent,
  bareIdentifier,
  conversationScope,
  formatPath,
  isMessageType,
  parseSbd,
  parseWith,
  summarizeSbd,
  type StandardBusinessDocument,
} from '../src/schemas';

// The examples of integrasjonspunkt-api.md, as the IP writes them.
const HEADER = {
  headerVersion: '1.0',
  sender: [{ identifier: { value: '0192:910000009', authority: 'iso6523-actorid-upis' } }],
  receiver: [{ identifier: { value: '0192:920000008', authority: 'iso6523-actorid-upis' } }],
  documentIdentification: {
    standard: 'urn:no:difi:arkivmelding:xsd::arkivmelding',
    typeVersion: '2.0',
    instanceIdentifier: '5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13',
    type: 'arkivmelding',
    creationDateAndTime: '2025-06-03T09:12:40+02:00',
  },
  businessScope: {
    scope: [
      {
        type: 'ConversationId',
        instanceIdentifier: 'c2d7a9e4-61b0-4f3a-8e25-7b1d0c9f6a58',
        identifier: 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0',
        scopeInformation: [{ expectedResponseDateTime: '2025-06-04T09:12:40+02:00' }],
      },
      {
        type: 'SenderRef',
        instanceIdentifier: '0e6b3f27-9d15-4c8a-b4f2-5a7e1c3d8b90',
      },
    ],
  },
};
const ARKIVMELDING = { hoveddokument: 'vedtak.pdf', sikkerhetsnivaa: 3, dpf: { forsendelseType: 'Byggesak' } };

const CAPABILITIES = {
  capabilities: [
    {
      process: 'urn:no:difi:profile:digitalpost:vedtak:ver1.0',
      serviceIdentifier: 'DPI',
      postAddress: { name: 'Ola Testmann', street: 'Bakkeveien 7', postalCode: '0461', postalArea: 'OSLO', country: 'Norge' },
      returnAddress: { name: 'Test kommune', street: 'Postboks 12', postalCode: '1440', postalArea: 'DRØBAK', country: 'Norge' },
      documentTypes: [
        { type: 'digital', standard: 'urn:no:difi:digitalpost:xsd:digital::digital' },
        { type: 'print', standard: 'urn:no:difi:digitalpost:xsd:fysisk::print' },
      ],
      digitalPostAddress: { supplier: '984661185', address: 'ola.testmann#9XK2' },
    },
  ],
};

const STATUS = {
  id: 4182,
  lastUpdate: '2025-06-03T09:14:02.117+02:00',
  status: 'LEVERT',
  description: 'Kvittering på at digital post er tilgjengeliggjort …',
  rawReceipt: '{…}',
  convId: 977,
  messageId: '5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13',
  conversationId: 'c2d7a9e4-61b0-4f3a-8e25-7b1d0c9f6a58',
};

const CONVERSATION = {
  id: 977,
  conversationId: 'c2d7a9e4-61b0-4f3a-8e25-7b1d0c9f6a58',
  messageId: '5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13',
  sender: '0192:910000009',
  senderIdentifier: '910000009',
  receiver: '0192:920000008',
  receiverIdentifier: '920000008',
  processIdentifier: 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0',
  documentIdentifier: 'urn:no:difi:arkivmelding:xsd::arkivmelding',
  messageReference: '2025/118-4',
  messageTitle: 'Vedtak om tilskudd',
  lastUpdate: '2025-06-03T09:14:02.117+02:00',
  finished: false,
  expiry: '2025-06-04T09:12:40+02:00',
  direction: 'OUTGOING',
  serviceIdentifier: 'DPO',
  externalSystemReference: '…',
  messageStatuses: [{ id: 4180, lastUpdate: '2025-06-03T09:12:41+02:00', status: 'OPPRETTET' }],
};

const SUBSCRIPTION = {
  id: 12,
  name: 'node-red inbox',
  pushEndpoint: 'https://nodered.example.kommune.no/efm/events',
  resource: 'messages',
  event: 'status',
  filter: 'direction=INCOMING&status=INNKOMMENDE_MOTTATT',
};

const PAGE = {
  content: [],
  pageable: {
    pageNumber: 1,
    pageSize: 5,
    sort: { empty: false, sorted: true, unsorted: false },
    offset: 5,
    paged: true,
    unpaged: false,
  },
  last: true,
  totalPages: 2,
  totalElements: 7,
  size: 5,
  number: 1,
  sort: { empty: false, sorted: true, unsorted: false },
  first: false,
  numberOfElements: 2,
  empty: false,
};

const ERROR = {
  timestamp: '2025-06-03T10:05:44.201+02:00',
  status: 400,
  error: 'Bad Request',
  exception: 'no.difi.meldingsutveksling.exceptions.ServiceNotEnabledException',
  message: 'Service DPV is not enabled',
  path: '/api/messages/out',
};

const PING = { createdTs: '2025-06-03T10:00:00.031+02:00', event: 'ping' };
const STATUS_EVENT = {
  createdTs: '2025-06-03T10:02:17.904+02:00',
  resource: 'messages',
  event: 'status',
  messageId: 'a41c7b0e-2f6d-4b83-9c15-e8d0a6f3b271',
  conversationId: '7d2e9f14-0b5a-4c6e-a8d3-1f9b7c4e2a60',
  direction: 'INCOMING',
  serviceIdentifier: 'DPO',
  status: 'INNKOMMENDE_MOTTATT',
  description: '…',
};

const clone = <T>(value: T): T => structuredClone(value);

function sbd(header: unknown = clone(HEADER), body: unknown = clone(ARKIVMELDING)): Record<string, unknown> {
  return { standardBusinessDocumentHeader: header, arkivmelding: body };
}

function sbdRejects(value: unknown, sentence: string): void {
  assert.throws(
    () => parseSbd(value),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      assert.equal(err.message, sentence);
      return true;
    },
  );
}

/** A header whose receiver/scopes/etc. are changed by `change`. */
function headerWith(change: (h: typeof HEADER & Record<string, unknown>) => void): unknown {
  const h = clone(HEADER) as typeof HEADER & Record<string, unknown>;
  change(h);
  return h;
}

describe('schemas', function () {
  describe('SBD', function () {
    it("accepts the reference's SBD and splits it into header, type and business message", function () {
      const parts = parseSbd(sbd());
      assert.equal(parts.type, 'arkivmelding');
      assert.deepEqual(parts.header, HEADER);
      assert.deepEqual(parts.businessMessage, ARKIVMELDING);
    });

    it('accepts the business message before the header', function () {
      assert.equal(parseSbd({ arkivmelding: clone(ARKIVMELDING), standardBusinessDocumentHeader: clone(HEADER) }).type, 'arkivmelding');
    });

    it('tolerates unknown fields and keeps them', function () {
      const header = headerWith((h) => {
        h.futureField = { a: 1 };
        (h.documentIdentification as Record<string, unknown>).multipleType = false;
        (h.documentIdentification as Record<string, unknown>).extra = 'x';
        (h.receiver[0] as Record<string, unknown>).contactInformation = [{ emailAddress: 'post@example.no', other: 1 }];
        (h.businessScope.scope[0] as Record<string, unknown>).note = 'kept';
      });
      const parts = parseSbd(sbd(header, { ...ARKIVMELDING, nyttFelt: [1, 2] }));
      assert.deepEqual(parts.header.futureField, { a: 1 });
      assert.equal(parts.header.documentIdentification.extra, 'x');
      assert.deepEqual(parts.header.receiver![0].contactInformation, [{ emailAddress: 'post@example.no', other: 1 }]);
      assert.equal(parts.header.businessScope.scope[0].note, 'kept');
      assert.deepEqual(parts.businessMessage.nyttFelt, [1, 2]);
    });

    it('matches the type case-insensitively', function () {
      const header = headerWith((h) => {
        h.documentIdentification.type = 'ArkivMelding';
        h.documentIdentification.standard = 'urn:no:difi:arkivmelding:xsd::ArkivMelding';
      });
      assert.equal(parseSbd(sbd(header)).type, 'arkivmelding');
    });

    it('accepts on-behalf-of senders, person ids and health identifiers', function () {
      for (const [value, authority] of [
        ['0192:910000009:920000008', 'iso6523-actorid-upis'],
        ['910000009', 'iso6523-actorid-upis'],
        ['01017012345', 'iso6523-actorid-upis'],
        ['her-id:8142519', 'nhn-actorid'],
        ['fastlege-for:01017012345', 'nhn-actorid'],
      ]) {
        const header = headerWith((h) => (h.sender = [{ identifier: { value, authority } }]));
        assert.equal(parseSbd(sbd(header)).header.sender![0].identifier.value, value);
      }
    });

    it('accepts a print SBD without receiver', function () {
      const header = headerWith((h) => {
        delete (h as Partial<typeof HEADER>).receiver;
      });
      assert.equal(parseSbd(sbd(header)).header.receiver, undefined);
    });

    describe('envelope errors are one sentence naming the path', function () {
      it('not an object, or no header', function () {
        for (const value of [null, 'x', [1]]) {
          sbdRejects(value, 'Invalid SBD: expected a JSON object with standardBusinessDocumentHeader and the business message');
        }
        sbdRejects({ arkivmelding: {} }, 'Invalid SBD: standardBusinessDocumentHeader: expected the SBD header');
      });

      it('a third member, a misnamed or missing business message', function () {
        sbdRejects(
          { ...sbd(), extra: 1 },
          'Invalid SBD: expected exactly two top-level members, standardBusinessDocumentHeader and "arkivmelding" (the message type), got "arkivmelding", "extra" beside the header',
        );
        sbdRejects(
          { standardBusinessDocumentHeader: clone(HEADER), Arkivmelding: {} },
          'Invalid SBD: expected exactly two top-level members, standardBusinessDocumentHeader and "arkivmelding" (the message type), got "Arkivmelding" beside the header',
        );
        sbdRejects(
          { standardBusinessDocumentHeader: clone(HEADER) },
          'Invalid SBD: expected exactly two top-level members, standardBusinessDocumentHeader and "arkivmelding" (the message type), got none beside the header',
        );
      });

      it('an unknown type', function () {
        const header = headerWith((h) => {
          h.documentIdentification.type = 'feil';
          h.documentIdentification.standard = 'urn:no:difi:arkivmelding:xsd::feil';
        });
        sbdRejects(
          { standardBusinessDocumentHeader: header, feil: {} },
          'Invalid SBD: standardBusinessDocumentHeader.documentIdentification.type: unknown message type "feil", expected one of arkivmelding, arkivmelding_kvittering, avtalt, digital, print, digital_dpv, innsynskrav, publisering, einnsyn_kvittering, status, dialogmelding, dialogmelding_kvittering',
        );
      });

      it('a receiver that is not an identifier', function () {
        const header = headerWith((h) => (h.receiver[0].identifier.value = '12345'));
        sbdRejects(
          sbd(header),
          'Invalid SBD: standardBusinessDocumentHeader.receiver[0].identifier.value: expected an organisation number like 0192:910000009 or an 11-digit person id, got "12345"',
        );
      });

      it('a wrong authority, or a bad health id', function () {
        sbdRejects(
          sbd(headerWith((h) => (h.sender[0].identifier.authority = 'iso6523'))),
          'Invalid SBD: standardBusinessDocumentHeader.sender[0].identifier.authority: expected authority "iso6523-actorid-upis" (or "nhn-actorid" for health actors)',
        );
        sbdRejects(
          sbd(headerWith((h) => (h.sender = [{ identifier: { value: 'her:1', authority: 'nhn-actorid' } }]))),
          'Invalid SBD: standardBusinessDocumentHeader.sender[0].identifier.value: expected her-id:<number> or fastlege-for:<11-digit id>, got "her:1"',
        );
      });

      it('two receivers', function () {
        sbdRejects(
          sbd(headerWith((h) => h.receiver.push(clone(h.receiver[0])))),
          'Invalid SBD: standardBusinessDocumentHeader.receiver: expected at most one receiver',
        );
      });

      it('a standard that does not end with the type', function () {
        sbdRejects(
          sbd(headerWith((h) => (h.documentIdentification.standard = 'urn:no:difi:digitalpost:xsd:digital::digital'))),
          'Invalid SBD: standardBusinessDocumentHeader.documentIdentification.standard: expected the standard to end with "::arkivmelding" (the message type), got "urn:no:difi:digitalpost:xsd:digital::digital"',
        );
      });

      it('a messageId or conversationId that is not a UUID', function () {
        sbdRejects(
          sbd(headerWith((h) => (h.documentIdentification.instanceIdentifier = 'melding-1'))),
          'Invalid SBD: standardBusinessDocumentHeader.documentIdentification.instanceIdentifier: expected a UUID such as 5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13',
        );
        sbdRejects(
          sbd(headerWith((h) => (h.businessScope.scope[0].instanceIdentifier = 'samtale-1'))),
          'Invalid SBD: standardBusinessDocumentHeader.businessScope.scope[0].instanceIdentifier: expected a UUID for the ConversationId scope, got "samtale-1"',
        );
        sbdRejects(
          sbd(headerWith((h) => (h.businessScope.scope[1].instanceIdentifier = 'SAK-1'))),
          'Invalid SBD: standardBusinessDocumentHeader.businessScope.scope[1].instanceIdentifier: expected a UUID for the SenderRef scope, got "SAK-1"',
        );
      });

      it('a missing ConversationId scope or process', function () {
        sbdRejects(
          sbd(headerWith((h) => h.businessScope.scope.shift())),
          'Invalid SBD: standardBusinessDocumentHeader.businessScope.scope: expected a ConversationId scope carrying the process',
        );
        sbdRejects(
          sbd(headerWith((h) => delete (h.businessScope.scope[0] as Partial<(typeof HEADER.businessScope.scope)[0]>).identifier)),
          'Invalid SBD: standardBusinessDocumentHeader.businessScope.scope[0].identifier: expected the process URN, e.g. urn:no:difi:profile:arkivmelding:administrasjon:ver1.0',
        );
        sbdRejects(
          sbd(headerWith((h) => (h.businessScope.scope = []))),
          'Invalid SBD: standardBusinessDocumentHeader.businessScope.scope: expected at least the ConversationId scope',
        );
      });

      it('an unknown scope type and a bad expectedResponseDateTime', function () {
        sbdRejects(
          sbd(headerWith((h) => (h.businessScope.scope[1].type = 'Reference'))),
          'Invalid SBD: standardBusinessDocumentHeader.businessScope.scope[1].type: expected one of ConversationId, SenderRef, ReceiverRef, JournalpostId, ParentId, MessageChannel',
        );
        sbdRejects(
          sbd(headerWith((h) => (h.businessScope.scope[0].scopeInformation![0].expectedResponseDateTime = '04.06.2025'))),
          'Invalid SBD: standardBusinessDocumentHeader.businessScope.scope[0].scopeInformation[0].expectedResponseDateTime: expected an ISO-8601 date-time such as 2025-06-03T09:12:40+02:00',
        );
      });

      it('missing header fields', function () {
        sbdRejects(
          sbd(headerWith((h) => (h.headerVersion = ''))),
          'Invalid SBD: standardBusinessDocumentHeader.headerVersion: expected "1.0"',
        );
        sbdRejects(
          sbd(headerWith((h) => (h.documentIdentification.typeVersion = ''))),
          'Invalid SBD: standardBusinessDocumentHeader.documentIdentification.typeVersion: expected a type version such as "2.0"',
        );
      });

      it('a bad business message', function () {
        sbdRejects(sbd(clone(HEADER), { sikkerhetsnivaa: 2 }), 'Invalid SBD: arkivmelding.sikkerhetsnivaa: expected security level 3 or 4');
      });

      it('names at most five problems', function () {
        const header = headerWith((h) => {
          h.headerVersion = '';
          h.documentIdentification.typeVersion = '';
          h.documentIdentification.instanceIdentifier = 'x';
          h.documentIdentification.creationDateAndTime = 'y';
          h.receiver[0].identifier.value = '1';
          h.sender[0].identifier.value = '2';
          h.businessScope.scope[1].type = 'z';
        });
        assert.throws(() => parseSbd(sbd(header)), (err: ValidationError) => {
          assert.match(err.message, /^Invalid SBD: standardBusinessDocumentHeader\.headerVersion: expected "1\.0"; /);
          assert.match(err.message, / \(and 2 more\)$/);
          assert.equal(err.issues.length, 7);
          return true;
        });
      });
    });

    it('summarizeSbd reads the identifiers a flow routes on', function () {
      assert.deepEqual(summarizeSbd(sbd() as StandardBusinessDocument), {
        messageId: '5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13',
        conversationId: 'c2d7a9e4-61b0-4f3a-8e25-7b1d0c9f6a58',
        process: 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0',
        type: 'arkivmelding',
        standard: 'urn:no:difi:arkivmelding:xsd::arkivmelding',
        sender: '0192:910000009',
        receiver: '0192:920000008',
        expectedResponseDateTime: '2025-06-04T09:12:40+02:00',
      });
      assert.equal(conversationScope(parseSbd(sbd()).header)?.identifier, 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0');
    });

    it('bareIdentifier strips 0192: and the own number of on-behalf-of senders', function () {
      assert.equal(bareIdentifier('0192:910000009'), '910000009');
      assert.equal(bareIdentifier('0192:910000009:920000008'), '920000008');
      assert.equal(bareIdentifier('01017012345'), '01017012345');
      assert.equal(bareIdentifier(undefined), undefined);
    });

    it('isMessageType knows the twelve types and nothing else', function () {
      assert.ok(isMessageType('dialogmelding_kvittering'));
      assert.ok(!isMessageType('feil'));
      assert.ok(!isMessageType('toString'));
    });

    it('a Page of SBDs applies the SBD rules to each item', function () {
      const page = { ...clone(PAGE), content: [sbd()] };
      assert.equal(parseWith(Page(StandardBusinessDocumentSchema), page, 'page').content.length, 1);
      const bad = { ...clone(PAGE), content: [sbd(), { standardBusinessDocumentHeader: {} }] };
      assert.throws(() => parseWith(Page(StandardBusinessDocumentSchema), bad, 'page'), {
        message: 'Invalid page: content[1]: expected a StandardBusinessDocument',
      });
    });
  });

  describe('capabilities', function () {
    it("accepts the reference's example and keeps unknown fields", function () {
      const value = clone(CAPABILITIES) as typeof CAPABILITIES & { extra?: number };
      value.extra = 1;
      (value.capabilities[0] as Record<string, unknown>).futureField = 'x';
      const parsed = parseWith(Capabilities, value, 'capabilities');
      assert.equal(parsed.capabilities[0].serviceIdentifier, 'DPI');
      assert.equal(parsed.capabilities[0].documentTypes[1].standard, 'urn:no:difi:digitalpost:xsd:fysisk::print');
      assert.equal(parsed.capabilities[0].digitalPostAddress?.address, 'ola.testmann#9XK2');
      assert.equal(parsed.extra, 1);
      assert.equal(parsed.capabilities[0].futureField, 'x');
    });

    it('maps an unknown service to UNKNOWN, a null document type stays, missing documentTypes become []', function () {
      const parsed = parseWith(
        Capabilities,
        {
          capabilities: [
            { process: 'p', serviceIdentifier: 'DPFIO', documentTypes: [{ type: null, standard: 'urn:x::feil' }] },
            { process: 'q', serviceIdentifier: 'DPO' },
          ],
        },
        'capabilities',
      );
      assert.equal(parsed.capabilities[0].serviceIdentifier, 'UNKNOWN');
      assert.equal(parsed.capabilities[0].documentTypes[0].type, null);
      assert.deepEqual(parsed.capabilities[1].documentTypes, []);
    });

    it('names the path of a bad field', function () {
      const value = clone(CAPABILITIES) as unknown as { capabilities: Array<Record<string, unknown>> };
      delete value.capabilities[0].process;
      assert.throws(() => parseWith(Capabilities, value, 'capabilities'), {
        message: 'Invalid capabilities: capabilities[0].process: Invalid input: expected string, received undefined',
      });
    });
  });

  describe('statuses and conversations', function () {
    it("accepts the reference's MessageStatus and keeps unknown fields", function () {
      const parsed = parseWith(MessageStatus, { ...STATUS, futureField: true }, 'status');
      assert.equal(parsed.status, 'LEVERT');
      assert.equal(parsed.futureField, true);
    });

    it('rejects an unknown status naming the allowed ones', function () {
      assert.throws(() => parseWith(MessageStatus, { ...STATUS, status: 'DELIVERED' }, 'status'), {
        message:
          'Invalid status: status: expected one of OPPRETTET, SENDT, MOTTATT, LEVERT, LEST, FEIL, ANNET, INNKOMMENDE_MOTTATT, INNKOMMENDE_LEVERT, LEVETID_UTLOPT',
      });
    });

    it("accepts the reference's Conversation; messageStatuses default to []", function () {
      const parsed = parseWith(Conversation, { ...CONVERSATION, serviceCode: '4192' }, 'conversation');
      assert.equal(parsed.messageStatuses[0].status, 'OPPRETTET');
      assert.equal(parsed.serviceCode, '4192');
      const { messageStatuses: _, ...withoutStatuses } = CONVERSATION;
      assert.deepEqual(parseWith(Conversation, withoutStatuses, 'conversation').messageStatuses, []);
      assert.throws(() => parseWith(Conversation, { ...CONVERSATION, direction: 'IN' }, 'conversation'), /Invalid conversation: direction: /);
    });

    it('a Page of statuses, as Spring writes it', function () {
      const page = parseWith(Page(MessageStatus), { ...clone(PAGE), content: [STATUS], extra: 'kept' }, 'page');
      assert.equal(page.content[0].id, 4182);
      assert.equal(page.totalElements, 7);
      assert.equal(page.extra, 'kept');
      const unpaged = parseWith(Page(MessageStatus), { ...clone(PAGE), pageable: 'INSTANCE' }, 'page');
      assert.equal(unpaged.pageable, 'INSTANCE');
      assert.throws(() => parseWith(Page(MessageStatus), { ...clone(PAGE), content: [{ ...STATUS, id: 'x' }] }, 'page'), {
        message: 'Invalid page: content[0].id: Invalid input: expected number, received string',
      });
    });
  });

  describe('subscriptions and webhook events', function () {
    it("accepts the reference's subscription and keeps unknown fields", function () {
      const parsed = parseWith(Subscription, { ...SUBSCRIPTION, extra: 1 }, 'subscription');
      assert.equal(parsed.filter, 'direction=INCOMING&status=INNKOMMENDE_MOTTATT');
      assert.equal(parsed.extra, 1);
      const { id: _, ...input } = SUBSCRIPTION;
      assert.equal(parseWith(Subscription, input, 'subscription').id, undefined);
    });

    it('rejects a bad filter, endpoint, resource and event with their sentences', function () {
      assert.throws(() => parseWith(Subscription, { ...SUBSCRIPTION, filter: 'status!=FEIL' }, 'subscription'), {
        message: 'Invalid subscription: filter: Must be a valid filter definition.',
      });
      assert.throws(() => parseWith(Subscription, { ...SUBSCRIPTION, pushEndpoint: 'not a url' }, 'subscription'), {
        message: 'Invalid subscription: pushEndpoint: expected a well-formed URL',
      });
      assert.throws(() => parseWith(Subscription, { ...SUBSCRIPTION, resource: 'statuses', event: 'ping', name: '' }, 'subscription'), {
        message: 'Invalid subscription: name: expected a name; resource: expected "all" or "messages"; event: expected "all" or "status"',
      });
      assert.equal(parseWith(Subscription, { ...SUBSCRIPTION, filter: 'status=FEIL,LEVETID_UTLOPT&serviceIdentifier=DPO,DPI' }, 'subscription').id, 12);
    });

    it('parses the ping and the status event, keeping unknown fields', function () {
      const ping = parseWith(WebhookEvent, PING, 'webhook event');
      assert.equal(ping.event, 'ping');
      const status = parseWith(WebhookEvent, { ...STATUS_EVENT, extra: 'x' }, 'webhook event');
      assert.equal(status.event, 'status');
      if (status.event === 'status') {
        assert.equal(status.status, 'INNKOMMENDE_MOTTATT');
        assert.equal(status.direction, 'INCOMING');
      }
      assert.equal((status as Record<string, unknown>).extra, 'x');
    });

    it('rejects unknown events and incomplete status events', function () {
      assert.throws(() => parseWith(WebhookEvent, { ...PING, event: 'pong' }, 'webhook event'), {
        message: "Invalid webhook event: event: Invalid discriminator value. Expected 'ping' | 'status'",
      });
      const { messageId: _, ...noMessageId } = STATUS_EVENT;
      assert.throws(() => parseWith(WebhookEvent, noMessageId, 'webhook event'), {
        message: 'Invalid webhook event: messageId: Invalid input: expected string, received undefined',
      });
    });
  });

  describe('IP error body', function () {
    it("accepts the reference's error, validation errors[] and unknown fields", function () {
      const parsed = parseWith(IpErrorBody, { ...ERROR, trace: ['at x'], extra: 1 }, 'error body');
      assert.equal(parsed.exception, 'no.difi.meldingsutveksling.exceptions.ServiceNotEnabledException');
      assert.equal(parsed.extra, 1);
      const withErrors = parseWith(
        IpErrorBody,
        {
          ...ERROR,
          exception: 'org.springframework.web.bind.MethodArgumentNotValidException',
          errors: [
            {
              codes: ['NotNull.standardBusinessDocument.standardBusinessDocumentHeader'],
              defaultMessage: 'must not be null',
              objectName: 'standardBusinessDocument',
              field: 'standardBusinessDocumentHeader',
              rejectedValue: null,
              bindingFailure: false,
              code: 'NotNull',
            },
          ],
        },
        'error body',
      );
      assert.equal(withErrors.errors![0].field, 'standardBusinessDocumentHeader');
    });

    it('names what is missing', function () {
      const { path: _, ...noPath } = ERROR;
      assert.throws(() => parseWith(IpErrorBody, noPath, 'error body'), {
        message: 'Invalid error body: path: Invalid input: expected string, received undefined',
      });
    });
  });

  it('formatPath writes dots and indexes', function () {
    assert.equal(formatPath(['standardBusinessDocumentHeader', 'receiver', 0, 'identifier', 'value']), 'standardBusinessDocumentHeader.receiver[0].identifier.value');
    assert.equal(formatPath([0, 'a']), '[0].a');
    assert.equal(formatPath([]), '');
  });
});
