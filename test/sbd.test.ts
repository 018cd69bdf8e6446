import assert from 'node:assert/strict';
import { buildSbd, toIdentifier, type SbdInput } from '../src/sbd';
import { MESSAGE_TYPES, ValidationError, parseSbd, summarizeSbd, type Capability } from '../src/schemas';

const PROCESS = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';
const UUID = '5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13';
const OTHER_UUID = 'c2d7a9e4-61b0-4f3a-8e25-7b1d0c9f6a58';
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const OFFSET_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/;

function arkivmelding(extra: Partial<SbdInput> = {}): SbdInput {
  return { receiver: '920000008', process: PROCESS, type: 'arkivmelding', businessMessage: { hoveddokument: 'vedtak.pdf' }, ...extra };
}

function rejects(input: unknown, sentence: string): void {
  assert.throws(
    () => buildSbd(input as SbdInput),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
      assert.equal(err.message, sentence);
      return true;
    },
  );
}

describe('buildSbd', function () {
  it('builds the SBD the IP expects for an arkivmelding', function () {
    const before = Date.now();
    const sbd = buildSbd(arkivmelding({ sender: '910000009' }));
    assert.deepEqual(Object.keys(sbd), ['standardBusinessDocumentHeader', 'arkivmelding']);
    const h = sbd.standardBusinessDocumentHeader;
    assert.equal(h.headerVersion, '1.0');
    assert.deepEqual(h.sender, [{ identifier: { value: '0192:910000009', authority: 'iso6523-actorid-upis' } }]);
    assert.deepEqual(h.receiver, [{ identifier: { value: '0192:920000008', authority: 'iso6523-actorid-upis' } }]);
    const di = h.documentIdentification;
    assert.equal(di.standard, 'urn:no:difi:arkivmelding:xsd::arkivmelding');
    assert.equal(di.typeVersion, '2.0');
    assert.equal(di.type, 'arkivmelding');
    assert.match(di.instanceIdentifier!, UUID_PATTERN);
    assert.match(di.creationDateAndTime!, OFFSET_DATE_TIME);
    assert.ok(Math.abs(Date.parse(di.creationDateAndTime!) - before) < 5000);
    assert.equal(h.businessScope.scope.length, 1);
    const conversation = h.businessScope.scope[0];
    assert.equal(conversation.type, 'ConversationId');
    assert.equal(conversation.identifier, PROCESS);
    assert.match(conversation.instanceIdentifier!, UUID_PATTERN);
    assert.notEqual(conversation.instanceIdentifier, di.instanceIdentifier);
    assert.equal(conversation.scopeInformation, undefined, 'no TTL given: the IP applies its default');
    assert.deepEqual(sbd.arkivmelding, { hoveddokument: 'vedtak.pdf' });
    // Every envelope rule holds.
    assert.equal(parseSbd(sbd).type, 'arkivmelding');
  });

  it('leaves the sender out when none is given, so the IP fills in its own', function () {
    const sbd = buildSbd(arkivmelding());
    assert.equal(sbd.standardBusinessDocumentHeader.sender, undefined);
  });

  it('generates new ids for every message and keeps given ones', function () {
    const a = summarizeSbd(buildSbd(arkivmelding()));
    const b = summarizeSbd(buildSbd(arkivmelding()));
    assert.notEqual(a.messageId, b.messageId);
    assert.notEqual(a.conversationId, b.conversationId);
    const given = summarizeSbd(buildSbd(arkivmelding({ messageId: UUID, conversationId: OTHER_UUID })));
    assert.equal(given.messageId, UUID);
    assert.equal(given.conversationId, OTHER_UUID);
    assert.equal(given.process, PROCESS);
    assert.equal(given.receiver, '0192:920000008');
  });

  it('accepts the three receiver forms, spaces, and numbers', function () {
    for (const [given, value] of [
      ['910000009', '0192:910000009'],
      ['0192:910000009', '0192:910000009'],
      ['910 000 009', '0192:910000009'],
      ['01017012345', '01017012345'],
    ]) {
      assert.deepEqual(toIdentifier(given, 'receiver'), { value, authority: 'iso6523-actorid-upis' });
    }
    assert.deepEqual(toIdentifier(920000008 as unknown as string, 'receiver').value, '0192:920000008');
  });

  it('accepts the test organisation numbers, whose check digits do not pass MOD11', function () {
    // Weights 3,2,7,6,5,4,3,2: 910000009 would need check digit 4, 920000008 would need 2.
    assert.equal(toIdentifier('910000009', 'sender').value, '0192:910000009');
    assert.equal(toIdentifier('920000008', 'receiver').value, '0192:920000008');
  });

  it('takes the type case-insensitively and names the member in lower case', function () {
    const sbd = buildSbd(arkivmelding({ type: 'ArkivMelding' }));
    assert.equal(sbd.standardBusinessDocumentHeader.documentIdentification.type, 'arkivmelding');
    assert.ok('arkivmelding' in sbd);
  });

  it('builds every message type with its default standard', function () {
    const bodies: Record<string, Record<string, unknown>> = {
      arkivmelding_kvittering: { receiptType: 'OK', relatedToMessageId: UUID },
      avtalt: { identifier: 'test', content: { a: 1 } },
      digital: {
        hoveddokument: 'brev.pdf',
        sikkerhetsnivaa: 4,
        tittel: 'Svar',
        spraak: 'no',
        digitalPostInfo: { virkningsdato: '2025-06-05', aapningskvittering: false },
      },
      print: {
        hoveddokument: 'brev.pdf',
        mottaker: { navn: 'Ola', adresselinje1: 'Vei 1', postnummer: '0150', poststed: 'OSLO' },
        retur: { mottaker: { navn: 'Kommune' }, returhaandtering: 'DIREKTE_RETUR' },
      },
      digital_dpv: { tittel: 't', sammendrag: 's', innhold: 'i' },
      innsynskrav: { orgnr: '910000009', epost: 'a@b.no' },
      publisering: { orgnr: '910000009' },
      einnsyn_kvittering: { dokumentId: 'd', status: '{}', referanseType: 'innsynskrav' },
      status: { status: 'MOTTATT' },
      dialogmelding: { hoveddokument: 'd.pdf', pasient: { fnr: '01017012345', fornavn: 'Ola', etternavn: 'N' } },
      dialogmelding_kvittering: { status: 'OK' },
    };
    for (const type of MESSAGE_TYPES) {
      const sbd = buildSbd({ receiver: '01017012345', process: 'urn:no:difi:profile:x:y:ver1.0', type, businessMessage: bodies[type] ?? {} });
      const standard = sbd.standardBusinessDocumentHeader.documentIdentification.standard;
      assert.ok(standard.endsWith(`::${type}`), `${type}: ${standard}`);
      assert.equal(sbd.standardBusinessDocumentHeader.documentIdentification.typeVersion, '2.0');
    }
  });

  it('lets print go without a receiver', function () {
    const sbd = buildSbd({
      process: 'urn:no:difi:profile:digitalpost:vedtak:ver1.0',
      type: 'print',
      businessMessage: {
        hoveddokument: 'brev.pdf',
        mottaker: { navn: 'Ola' },
        retur: { mottaker: { navn: 'Kommune' }, returhaandtering: 'DIREKTE_RETUR' },
      },
    });
    assert.equal(sbd.standardBusinessDocumentHeader.receiver, undefined);
  });

  describe('standard', function () {
    it('uses a given standard', function () {
      const sbd = buildSbd(arkivmelding({ standard: 'urn:no:ks:fiks:arkiv::arkivmelding' }));
      assert.equal(sbd.standardBusinessDocumentHeader.documentIdentification.standard, 'urn:no:ks:fiks:arkiv::arkivmelding');
    });

    it("takes the standard from the receiver's capability", function () {
      const capability: Capability = {
        process: 'urn:no:difi:profile:einnsyn:innsynskrav:ver1.0',
        serviceIdentifier: 'DPE',
        documentTypes: [
          { type: 'status', standard: 'urn:no:difi:eformidling:xsd::status' },
          { type: 'innsynskrav', standard: 'urn:no:difi:einnsyn:xsd:innsyn::innsynskrav' },
        ],
      };
      const sbd = buildSbd({
        receiver: '910000009',
        process: capability.process,
        type: 'innsynskrav',
        capability,
        businessMessage: { orgnr: '910000009', epost: 'a@b.no' },
      });
      assert.equal(sbd.standardBusinessDocumentHeader.documentIdentification.standard, 'urn:no:difi:einnsyn:xsd:innsyn::innsynskrav');
    });

    it('falls back to the usual standard when the capability has no document type for the type', function () {
      const capability: Capability = { process: PROCESS, serviceIdentifier: 'DPO', documentTypes: [] };
      const sbd = buildSbd(arkivmelding({ capability }));
      assert.equal(sbd.standardBusinessDocumentHeader.documentIdentification.standard, 'urn:no:difi:arkivmelding:xsd::arkivmelding');
    });
  });

  describe('time to live', function () {
    it('sets expectedResponseDateTime from ttlHours', function () {
      const sbd = buildSbd(arkivmelding({ ttlHours: 2 }));
      const when = summarizeSbd(sbd).expectedResponseDateTime!;
      assert.match(when, OFFSET_DATE_TIME);
      const hours = (Date.parse(when) - Date.now()) / 3_600_000;
      assert.ok(hours > 1.99 && hours <= 2, `about 2 hours ahead, got ${hours}`);
    });

    it('accepts ttlHours as text, as the editor sends it', function () {
      const sbd = buildSbd(arkivmelding({ ttlHours: '0.5' as unknown as number }));
      const minutes = (Date.parse(summarizeSbd(sbd).expectedResponseDateTime!) - Date.now()) / 60_000;
      assert.ok(minutes > 29 && minutes <= 30);
    });

    it('keeps a given expectedResponseDateTime, string or Date', function () {
      const later = new Date(Date.now() + 86_400_000);
      const fromDate = summarizeSbd(buildSbd(arkivmelding({ expectedResponseDateTime: later }))).expectedResponseDateTime!;
      assert.equal(Date.parse(fromDate), later.getTime());
      assert.match(fromDate, OFFSET_DATE_TIME);
      const text = '2999-06-04T09:12:40+02:00';
      assert.equal(summarizeSbd(buildSbd(arkivmelding({ expectedResponseDateTime: text }))).expectedResponseDateTime, text);
    });
  });

  it('adds SenderRef and ReceiverRef scopes', function () {
    const sbd = buildSbd(arkivmelding({ senderRef: UUID, receiverRef: 'SAK-2025/118' }));
    assert.deepEqual(sbd.standardBusinessDocumentHeader.businessScope.scope.slice(1), [
      { type: 'SenderRef', instanceIdentifier: UUID },
      { type: 'ReceiverRef', instanceIdentifier: 'SAK-2025/118' },
    ]);
  });

  it('treats empty strings and null as not given', function () {
    const sbd = buildSbd(
      arkivmelding({ sender: '', messageId: '', conversationId: null as unknown as string, standard: '', ttlHours: '' as unknown as number }),
    );
    assert.equal(sbd.standardBusinessDocumentHeader.sender, undefined);
    assert.match(summarizeSbd(sbd).messageId!, UUID_PATTERN);
  });

  it('keeps a given typeVersion and unknown business message fields', function () {
    const sbd = buildSbd(arkivmelding({ typeVersion: '1.0', businessMessage: { hoveddokument: 'a.pdf', egetFelt: 1 } }));
    assert.equal(sbd.standardBusinessDocumentHeader.documentIdentification.typeVersion, '1.0');
    assert.deepEqual(sbd.arkivmelding, { hoveddokument: 'a.pdf', egetFelt: 1 });
  });

  describe('rejections name the field', function () {
    const types = MESSAGE_TYPES.join(', ');

    it('receiver', function () {
      rejects(
        arkivmelding({ receiver: '12345' }),
        'receiver: expected an organisation number (9 digits, optionally 0192:) or an 11-digit person id, got "12345"',
      );
      rejects(
        arkivmelding({ receiver: '9908:910000009' }),
        'receiver: expected an organisation number (9 digits, optionally 0192:) or an 11-digit person id, got "9908:910000009"',
      );
      rejects(
        arkivmelding({ receiver: { value: 1 } as unknown as string }),
        'receiver: expected an organisation number (9 digits, optionally 0192:) or an 11-digit person id, got an object',
      );
      rejects(
        arkivmelding({ receiver: undefined }),
        "receiver: expected the receiver's organisation number (e.g. 910000009) or 11-digit person id",
      );
    });

    it('sender', function () {
      rejects(
        arkivmelding({ sender: '0192:91000000' }),
        'sender: expected an organisation number (9 digits, optionally 0192:) or an 11-digit person id, got "0192:91000000"',
      );
    });

    it('type', function () {
      rejects(arkivmelding({ type: 'arkivmeldingx' }), `type: unknown message type "arkivmeldingx", expected one of ${types}`);
      rejects(arkivmelding({ type: 'feil' }), `type: unknown message type "feil", expected one of ${types}`);
      rejects(arkivmelding({ type: '' }), 'type: expected a message type such as arkivmelding, got ""');
      rejects(arkivmelding({ type: undefined as unknown as string }), 'type: expected a message type such as arkivmelding, got nothing');
    });

    it('process', function () {
      const expected = 'process: expected a process URN such as urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';
      rejects(arkivmelding({ process: 'administrasjon' }), `${expected}, got "administrasjon"`);
      rejects(arkivmelding({ process: 'urn:no:difi:profile: arkivmelding' }), `${expected}, got "urn:no:difi:profile: arkivmelding"`);
      rejects(arkivmelding({ process: undefined as unknown as string }), `${expected}, got nothing`);
    });

    it('standard', function () {
      rejects(
        arkivmelding({ standard: 'urn:no:difi:digitalpost:xsd:digital::digital' }),
        'standard "urn:no:difi:digitalpost:xsd:digital::digital" must end with "::arkivmelding"',
      );
      rejects(
        arkivmelding({ standard: ' ' }),
        'standard: expected a document type URN ending with "::arkivmelding", got " "',
      );
    });

    it('messageId, conversationId and senderRef must be UUIDs', function () {
      rejects(arkivmelding({ messageId: 'abc' }), `messageId: expected a UUID such as ${UUID}, got "abc"`);
      rejects(arkivmelding({ conversationId: '123' }), `conversationId: expected a UUID such as ${UUID}, got "123"`);
      rejects(arkivmelding({ senderRef: 'SAK-1' }), `senderRef: expected a UUID such as ${UUID}, got "SAK-1"`);
      rejects(arkivmelding({ messageId: 42 as unknown as string }), `messageId: expected a UUID such as ${UUID}, got 42`);
    });

    it('receiverRef', function () {
      rejects(arkivmelding({ receiverRef: '  ' }), `receiverRef: expected the receiver's reference as text, got "  "`);
    });

    it('ttlHours', function () {
      rejects(arkivmelding({ ttlHours: 0 }), 'ttlHours: expected a positive number of hours, got 0');
      rejects(arkivmelding({ ttlHours: -3 }), 'ttlHours: expected a positive number of hours, got -3');
      rejects(arkivmelding({ ttlHours: 'ett døgn' as unknown as number }), 'ttlHours: expected a positive number of hours, got "ett døgn"');
      rejects(arkivmelding({ ttlHours: Infinity }), 'ttlHours: expected a positive number of hours, got Infinity');
    });

    it('expectedResponseDateTime', function () {
      rejects(
        arkivmelding({ expectedResponseDateTime: '2020-01-01T00:00:00+01:00' }),
        'expectedResponseDateTime: must be in the future, got "2020-01-01T00:00:00+01:00"',
      );
      rejects(
        arkivmelding({ expectedResponseDateTime: 'i morgen' }),
        'expectedResponseDateTime: expected an ISO-8601 date-time such as 2025-06-03T09:12:40+02:00, got "i morgen"',
      );
      rejects(
        arkivmelding({ expectedResponseDateTime: new Date('nonsense') }),
        'expectedResponseDateTime: expected an ISO-8601 date-time such as 2025-06-03T09:12:40+02:00, got Invalid Date',
      );
      rejects(
        arkivmelding({ ttlHours: 2, expectedResponseDateTime: '2999-01-01T00:00:00+01:00' }),
        'ttlHours and expectedResponseDateTime: give only one of them',
      );
    });

    it('typeVersion', function () {
      rejects(arkivmelding({ typeVersion: ' ' }), 'typeVersion: expected a version such as "2.0", got " "');
    });

    it('businessMessage', function () {
      rejects(
        arkivmelding({ businessMessage: 'vedtak.pdf' as unknown as Record<string, unknown> }),
        'businessMessage: expected an object (the body of the "arkivmelding" message), got "vedtak.pdf"',
      );
      rejects(
        arkivmelding({ businessMessage: { sikkerhetsnivaa: 2 } }),
        'businessMessage.sikkerhetsnivaa: expected security level 3 or 4',
      );
      rejects(
        { receiver: '01017012345', process: 'urn:no:difi:profile:digitalpost:info:ver1.0', type: 'digital', businessMessage: { hoveddokument: 'a.pdf', sikkerhetsnivaa: 4, spraak: 'no', digitalPostInfo: { virkningsdato: '2025-06-05', aapningskvittering: false } } },
        'businessMessage.tittel: expected a title (visible in notifications)',
      );
    });

    it('the input itself', function () {
      rejects(null, 'SBD input: expected an object');
    });
  });
});
