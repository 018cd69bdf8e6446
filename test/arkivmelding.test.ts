import assert from 'node:assert/strict';
import { ARKIVMELDING_NAMESPACE, buildArkivmeldingXml, parseArkivmeldingXml, type ArkivmeldingInput } from '../src/sbd';
import { parseXml, type XmlElement } from '../src/sbd/xml';
import { ValidationError } from '../src/schemas';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OFFSET_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function child(element: XmlElement, name: string): XmlElement {
  const found = element.children.find((c) => c.name === name);
  assert.ok(found, `<${element.name}> has no <${name}>`);
  return found;
}

function names(element: XmlElement): string[] {
  return element.children.map((c) => c.name);
}

function rejects(input: unknown, files: unknown, sentence: string): void {
  assert.throws(
    () => buildArkivmeldingXml(input as ArkivmeldingInput, files as []),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      assert.equal(err.message, sentence);
      return true;
    },
  );
}

describe('arkivmelding.xml', function () {
  describe('buildArkivmeldingXml', function () {
    it('makes a complete document from { tittel } alone, with the elements in schema order', function () {
      const xml = buildArkivmeldingXml({ tittel: 'Vedtak' }, []);
      assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<arkivmelding '));
      const root = parseXml(xml, 'test');
      assert.equal(root.attributes.xmlns, ARKIVMELDING_NAMESPACE);
      assert.equal(root.attributes['xmlns:xsi'], 'http://www.w3.org/2001/XMLSchema-instance');
      assert.deepEqual(names(root), ['system', 'meldingId', 'tidspunkt', 'antallFiler', 'mappe']);
      assert.equal(child(root, 'system').text, 'node-red-contrib-eformidling');
      assert.match(child(root, 'meldingId').text, UUID_PATTERN);
      assert.match(child(root, 'tidspunkt').text, OFFSET_DATE_TIME);
      assert.equal(child(root, 'antallFiler').text, '0');

      const mappe = child(root, 'mappe');
      assert.equal(mappe.attributes['xsi:type'], 'saksmappe');
      assert.deepEqual(names(mappe), [
        'systemID', 'tittel', 'opprettetDato', 'opprettetAv', 'basisregistrering',
        'saksdato', 'administrativEnhet', 'saksansvarlig', 'saksstatus',
      ]);
      assert.match(child(mappe, 'saksdato').text, DATE);
      assert.equal(child(mappe, 'saksstatus').text, 'Under behandling');

      const journalpost = child(mappe, 'basisregistrering');
      assert.equal(journalpost.attributes['xsi:type'], 'journalpost');
      assert.deepEqual(names(journalpost), [
        'systemID', 'opprettetDato', 'opprettetAv', 'arkivertDato', 'arkivertAv', 'referanseForelderMappe',
        'tittel', 'journalposttype', 'journalstatus', 'journaldato',
      ]);
      assert.equal(child(journalpost, 'referanseForelderMappe').text, child(mappe, 'systemID').text);
      assert.equal(child(journalpost, 'journalposttype').text, 'Utgående dokument');
      assert.equal(child(journalpost, 'journalstatus').text, 'Journalført');
      assert.match(child(journalpost, 'journaldato').text, DATE);

      assert.deepEqual(parseArkivmeldingXml(xml).tittel, 'Vedtak');
    });

    it('lists one dokumentbeskrivelse per file: the first Hoveddokument, the rest Vedlegg', function () {
      const xml = buildArkivmeldingXml({ tittel: 'Vedtak om tilskudd' }, [
        { filename: 'vedtak.pdf', mimeType: 'application/pdf' },
        { filename: 'arkivmelding.xml' },
        { filename: 'kart.png', title: 'Kart over området' },
        { filename: 'vilkår.docx' },
      ]);
      const journalpost = child(child(parseXml(xml, 'test'), 'mappe'), 'basisregistrering');
      const descriptions = journalpost.children.filter((c) => c.name === 'dokumentbeskrivelse');
      assert.equal(descriptions.length, 3, 'arkivmelding.xml does not list itself');
      assert.deepEqual(names(descriptions[0]), [
        'systemID', 'dokumenttype', 'dokumentstatus', 'tittel', 'opprettetDato', 'opprettetAv',
        'tilknyttetRegistreringSom', 'dokumentnummer', 'tilknyttetDato', 'tilknyttetAv', 'dokumentobjekt',
      ]);
      assert.deepEqual(names(child(descriptions[0], 'dokumentobjekt')), [
        'versjonsnummer', 'variantformat', 'opprettetDato', 'opprettetAv', 'referanseDokumentfil',
      ]);
      assert.equal(child(child(descriptions[0], 'dokumentobjekt'), 'variantformat').text, 'Produksjonsformat');
      assert.equal(child(child(descriptions[0], 'dokumentobjekt'), 'versjonsnummer').text, '1');
      assert.equal(child(descriptions[0], 'dokumentstatus').text, 'Dokumentet er ferdigstilt');
      assert.equal(child(journalpost, 'antallVedlegg').text, '2');

      const summary = parseArkivmeldingXml(xml);
      assert.equal(summary.antallFiler, 3);
      assert.deepEqual(summary.documents, [
        { tittel: 'Vedtak om tilskudd', filename: 'vedtak.pdf', tilknyttetRegistreringSom: 'Hoveddokument', dokumenttype: 'Brev', dokumentnummer: 1 },
        { tittel: 'Kart over området', filename: 'kart.png', tilknyttetRegistreringSom: 'Vedlegg', dokumenttype: 'Brev', dokumentnummer: 2 },
        { tittel: 'vilkår.docx', filename: 'vilkår.docx', tilknyttetRegistreringSom: 'Vedlegg', dokumenttype: 'Brev', dokumentnummer: 3 },
      ]);
    });

    it('round-trips every field through parseArkivmeldingXml', function () {
      const input: ArkivmeldingInput = {
        tittel: 'Vedtak om tilskudd',
        offentligTittel: 'Vedtak om tilskudd til lag',
        system: 'Acos WebSak',
        meldingId: 'melding-1',
        tidspunkt: '2025-06-03T09:12:40+02:00',
        opprettetAv: 'Kari Nordmann',
        dokumenttype: 'Vedtak',
        saksmappe: {
          systemID: '43fbe161-7aac-4c9f-a888-d8167aab4144',
          mappeID: '2025/118',
          tittel: 'Tilskudd 2025',
          offentligTittel: 'Tilskudd',
          saksaar: 2025,
          sakssekvensnummer: '118',
          saksdato: '2025-05-01',
          administrativEnhet: 'Kultur',
          saksansvarlig: 'Kari Nordmann',
          journalenhet: 'SENTRAL',
          saksstatus: 'Avsluttet',
          klassifikasjon: [{ referanseKlassifikasjonssystem: 'Funksjoner', klasseID: '223' }],
        },
        journalpost: {
          systemID: '430a6710-a3d4-4863-8bd0-5eb1021bee45',
          tittel: 'Vedtak – tilskudd',
          offentligTittel: 'Vedtak',
          journalaar: 2025,
          journalsekvensnummer: 4711,
          journalpostnummer: 4,
          journalposttype: 'Inngående dokument',
          journalstatus: 'Ekspedert',
          journaldato: new Date(2025, 5, 3),
          dokumentetsDato: '2025-06-02',
          sendtDato: '2025-06-03T10:00:00+02:00',
          forfallsdato: '2025-07-01',
          journalenhet: 'SENTRAL',
          korrespondansepart: [
            {
              korrespondanseparttype: 'Avsender',
              korrespondansepartNavn: 'Idrettslaget',
              postadresse: ['Postboks 1', 'Stadion'],
              postnummer: '0150',
              poststed: 'OSLO',
              land: 'Norge',
              epostadresse: 'post@il.no',
              telefonnummer: '22 00 00 00',
              kontaktperson: 'Ola',
              administrativEnhet: 'Styret',
              saksbehandler: 'Per',
            },
            { korrespondansepartNavn: 'Kopi AS', korrespondanseparttype: 'Kopimottaker' },
          ],
        },
      };
      const summary = parseArkivmeldingXml(buildArkivmeldingXml(input, [{ filename: 'vedtak.pdf' }]));
      assert.equal(summary.system, 'Acos WebSak');
      assert.equal(summary.meldingId, 'melding-1');
      assert.equal(summary.tidspunkt, '2025-06-03T09:12:40+02:00');
      assert.equal(summary.tittel, 'Vedtak – tilskudd');
      assert.equal(summary.offentligTittel, 'Vedtak');
      const { opprettetDato: _s, ...saksmappe } = summary.saksmappe!;
      assert.deepEqual(saksmappe, {
        systemID: '43fbe161-7aac-4c9f-a888-d8167aab4144',
        mappeID: '2025/118',
        tittel: 'Tilskudd 2025',
        offentligTittel: 'Tilskudd',
        opprettetAv: 'Kari Nordmann',
        klassifikasjon: [{ referanseKlassifikasjonssystem: 'Funksjoner', klasseID: '223', tittel: '223' }],
        saksaar: 2025,
        sakssekvensnummer: 118,
        saksdato: '2025-05-01',
        administrativEnhet: 'Kultur',
        saksansvarlig: 'Kari Nordmann',
        journalenhet: 'SENTRAL',
        saksstatus: 'Avsluttet',
      });
      const { opprettetDato: _j, arkivertDato: _a, ...journalpost } = summary.journalpost!;
      assert.deepEqual(journalpost, {
        systemID: '430a6710-a3d4-4863-8bd0-5eb1021bee45',
        opprettetAv: 'Kari Nordmann',
        arkivertAv: 'Kari Nordmann',
        referanseForelderMappe: '43fbe161-7aac-4c9f-a888-d8167aab4144',
        tittel: 'Vedtak – tilskudd',
        offentligTittel: 'Vedtak',
        journalaar: 2025,
        journalsekvensnummer: 4711,
        journalpostnummer: 4,
        journalposttype: 'Inngående dokument',
        journalstatus: 'Ekspedert',
        journaldato: '2025-06-03',
        dokumentetsDato: '2025-06-02',
        sendtDato: '2025-06-03T10:00:00+02:00',
        forfallsdato: '2025-07-01',
        journalenhet: 'SENTRAL',
        korrespondansepart: [
          {
            korrespondanseparttype: 'Avsender',
            korrespondansepartNavn: 'Idrettslaget',
            postadresse: ['Postboks 1', 'Stadion'],
            postnummer: '0150',
            poststed: 'OSLO',
            land: 'Norge',
            epostadresse: 'post@il.no',
            telefonnummer: '22 00 00 00',
            kontaktperson: 'Ola',
            administrativEnhet: 'Styret',
            saksbehandler: 'Per',
          },
          { korrespondanseparttype: 'Kopimottaker', korrespondansepartNavn: 'Kopi AS' },
        ],
      });
      assert.deepEqual(summary.documents, [
        { tittel: 'Vedtak – tilskudd', filename: 'vedtak.pdf', tilknyttetRegistreringSom: 'Hoveddokument', dokumenttype: 'Vedtak', dokumentnummer: 1 },
      ]);
    });

    it('escapes XML in every value and drops characters XML cannot hold', function () {
      const nasty = `Tom & Jerry's <"svar"> ]]> \u0001slutt`;
      const xml = buildArkivmeldingXml(
        { tittel: nasty, journalpost: { korrespondansepart: [{ korrespondansepartNavn: '<script>' }] } },
        [{ filename: 'a&b <c>.pdf' }],
      );
      assert.ok(xml.includes('<tittel>Tom &amp; Jerry&apos;s &lt;&quot;svar&quot;&gt; ]]&gt; slutt</tittel>'));
      assert.ok(!xml.includes('<script>'));
      assert.ok(!xml.includes('\u0001'));
      const summary = parseArkivmeldingXml(xml);
      assert.equal(summary.tittel, `Tom & Jerry's <"svar"> ]]> slutt`);
      assert.equal(summary.documents[0].filename, 'a&b <c>.pdf');
      assert.equal((summary.journalpost!.korrespondansepart as Array<Record<string, unknown>>)[0].korrespondansepartNavn, '<script>');
    });

    it('takes Date objects for dates and date-times', function () {
      const when = new Date(2025, 0, 2, 3, 4, 5, 6);
      const summary = parseArkivmeldingXml(
        buildArkivmeldingXml({ tittel: 't', tidspunkt: when, saksmappe: { saksdato: when }, journalpost: { sendtDato: when } }, []),
      );
      assert.equal(Date.parse(summary.tidspunkt!), when.getTime());
      assert.equal(summary.saksmappe!.saksdato, '2025-01-02');
      assert.equal(Date.parse(summary.journalpost!.sendtDato as string), when.getTime());
    });

    describe('bad input gets a sentence naming the field', function () {
      it('tittel', function () {
        rejects({}, [], 'arkivmelding.tittel: expected a non-empty title');
        rejects({ tittel: '   ' }, [], 'arkivmelding.tittel: expected a non-empty title');
        rejects({ tittel: 42 }, [], 'arkivmelding.tittel: expected a non-empty title');
      });

      it('the input itself', function () {
        rejects(undefined, [], 'arkivmelding: expected an object such as { "tittel": "Vedtak" }');
        rejects('Vedtak', [], 'arkivmelding: expected an object such as { "tittel": "Vedtak" }');
      });

      it('parts that are not objects or lists', function () {
        rejects({ tittel: 't', saksmappe: '2025/118' }, [], 'arkivmelding.saksmappe: expected an object with the case fields');
        rejects({ tittel: 't', journalpost: [] }, [], 'arkivmelding.journalpost: expected an object with the registry entry fields');
        rejects(
          { tittel: 't', journalpost: { korrespondansepart: { korrespondansepartNavn: 'A' } } },
          [],
          'arkivmelding.journalpost.korrespondansepart: expected a list of parties',
        );
        rejects(
          { tittel: 't', journalpost: { korrespondansepart: ['A'] } },
          [],
          'arkivmelding.journalpost.korrespondansepart[0]: expected an object such as { "korrespondansepartNavn": "Testkommune" }',
        );
        rejects(
          { tittel: 't', saksmappe: { klassifikasjon: [{ klasseID: '1' }] } },
          [],
          'arkivmelding.saksmappe.klassifikasjon[0].referanseKlassifikasjonssystem: expected the classification system, e.g. "Funksjoner"',
        );
        rejects(
          { tittel: 't', journalpost: { korrespondansepart: [{ korrespondansepartNavn: 'A', postadresse: 5 }] } },
          [],
          'arkivmelding.journalpost.korrespondansepart[0].postadresse: expected text or a list of texts',
        );
      });

      it('unknown fields (typos)', function () {
        rejects({ tittel: 't', tittle: 'x' }, [], 'arkivmelding.tittle: unknown field');
        rejects({ tittel: 't', journalpost: { jornalposttype: 'x' } }, [], 'arkivmelding.journalpost.jornalposttype: unknown field');
      });

      it('code lists', function () {
        rejects(
          { tittel: 't', journalpost: { journalposttype: 'U' } },
          [],
          'arkivmelding.journalpost.journalposttype: expected one of "Inngående dokument", "Utgående dokument", "Organinternt dokument for oppfølging", "Organinternt dokument uten oppfølging", "Saksframlegg"',
        );
        rejects(
          { tittel: 't', journalpost: { journalstatus: 'J' } },
          [],
          'arkivmelding.journalpost.journalstatus: expected one of "Journalført", "Ferdigstilt fra saksbehandler", "Godkjent av leder", "Ekspedert", "Arkivert", "Utgår"',
        );
        rejects(
          { tittel: 't', saksmappe: { saksstatus: 'B' } },
          [],
          'arkivmelding.saksmappe.saksstatus: expected one of "Under behandling", "Avsluttet", "Utgår"',
        );
        rejects(
          { tittel: 't', journalpost: { korrespondansepart: [{ korrespondansepartNavn: 'A', korrespondanseparttype: 'Mottakar' }] } },
          [],
          'arkivmelding.journalpost.korrespondansepart[0].korrespondanseparttype: expected one of "Avsender", "Mottaker", "Kopimottaker", "Gruppemottaker", "Intern avsender", "Intern mottaker"',
        );
      });

      it('numbers, dates, ids and required names', function () {
        rejects({ tittel: 't', saksmappe: { saksaar: '2025b' } }, [], 'arkivmelding.saksmappe.saksaar: expected a whole number');
        rejects({ tittel: 't', journalpost: { journalpostnummer: 1.5 } }, [], 'arkivmelding.journalpost.journalpostnummer: expected a whole number');
        rejects({ tittel: 't', journalpost: { journaldato: '03.06.2025' } }, [], 'arkivmelding.journalpost.journaldato: expected a date as yyyy-MM-dd');
        rejects(
          { tittel: 't', journalpost: { sendtDato: 'i dag' } },
          [],
          'arkivmelding.journalpost.sendtDato: expected an ISO-8601 date-time such as 2025-06-03T09:12:40+02:00',
        );
        rejects(
          { tittel: 't', saksmappe: { systemID: 'sak-1' } },
          [],
          'arkivmelding.saksmappe.systemID: expected a UUID such as 5b8f1e0a-3c47-4d2e-9a61-0f2c7d9e4b13',
        );
        rejects(
          { tittel: 't', journalpost: { korrespondansepart: [{ korrespondanseparttype: 'Mottaker' }] } },
          [],
          "arkivmelding.journalpost.korrespondansepart[0].korrespondansepartNavn: expected the party's name",
        );
        rejects(
          { tittel: '', saksmappe: { saksaar: 'x' } },
          [],
          'arkivmelding.tittel: expected a non-empty title; arkivmelding.saksmappe.saksaar: expected a whole number',
        );
      });

      it('files', function () {
        rejects({ tittel: 't' }, 'a.pdf', 'files: expected a list of { filename, mimeType?, title? }');
        rejects({ tittel: 't' }, [{ filename: 'a.pdf' }, { filename: ' ' }], 'files[1].filename: expected the file name');
        rejects({ tittel: 't' }, [{ filename: 'a.pdf' }, {}], 'files[1].filename: expected the file name');
        rejects(
          { tittel: 't' },
          [{ filename: 'a.pdf' }, { filename: 'a.pdf' }],
          'files[1].filename: "a.pdf" is listed twice; file names must be unique',
        );
      });
    });
  });

  describe('parseArkivmeldingXml', function () {
    // Shaped like what archive systems send: prefixes, comments, CDATA, character references, a document
    // with two variants, documents out of order, business-specific metadata.
    const FROM_ARCHIVE = `\uFEFF<?xml version="1.0" encoding="utf-8"?>
<!-- eksportert fra sak/arkiv -->
<am:arkivmelding xmlns:am="${ARKIVMELDING_NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <am:system>LandLord</am:system>
  <am:meldingId>3380ed76-5d4c-43e7-aa70-8ed8d97e4835</am:meldingId>
  <am:tidspunkt>2017-05-23T12:46:00</am:tidspunkt>
  <am:antallFiler>3</am:antallFiler>
  <am:mappe xsi:type="am:saksmappe">
    <am:systemID>43fbe161-7aac-4c9f-a888-d8167aab4144</am:systemID>
    <am:tittel>Nye lysr&#248;r Hauketo Skole</am:tittel>
    <am:opprettetDato>2017-06-01T10:10:12.000+01:00</am:opprettetDato>
    <am:opprettetAv/>
    <am:klassifikasjon>
      <am:referanseKlassifikasjonssystem>Objekter</am:referanseKlassifikasjonssystem>
      <am:klasseID>20500</am:klasseID>
      <am:tittel>Hauketo Skole</am:tittel>
    </am:klassifikasjon>
    <am:basisregistrering xsi:type="am:journalpost">
      <am:systemID>430a6710-a3d4-4863-8bd0-5eb1021bee45</am:systemID>
      <am:referanseForelderMappe>43fbe161-7aac-4c9f-a888-d8167aab4144</am:referanseForelderMappe>
      <am:dokumentbeskrivelse>
        <am:dokumenttype>Vedlegg</am:dokumenttype>
        <am:tittel>Tegning</am:tittel>
        <am:tilknyttetRegistreringSom>Vedlegg</am:tilknyttetRegistreringSom>
        <am:dokumentnummer>2</am:dokumentnummer>
        <am:dokumentobjekt>
          <am:versjonsnummer>1</am:versjonsnummer>
          <am:variantformat>Produksjonsformat</am:variantformat>
          <am:format>DWG</am:format>
          <am:referanseDokumentfil>tegning.dwg</am:referanseDokumentfil>
        </am:dokumentobjekt>
      </am:dokumentbeskrivelse>
      <am:dokumentbeskrivelse>
        <am:dokumenttype>Bestilling</am:dokumenttype>
        <am:tittel><![CDATA[Bestilling - nye <lysrør>]]></am:tittel>
        <am:tilknyttetRegistreringSom>Hoveddokument</am:tilknyttetRegistreringSom>
        <am:dokumentnummer>1</am:dokumentnummer>
        <am:dokumentobjekt>
          <am:versjonsnummer>1</am:versjonsnummer>
          <am:variantformat>Produksjonsformat</am:variantformat>
          <am:format>DOCX</am:format>
          <am:referanseDokumentfil>bestilling.docx</am:referanseDokumentfil>
        </am:dokumentobjekt>
        <am:dokumentobjekt>
          <am:versjonsnummer>1</am:versjonsnummer>
          <am:variantformat>Arkivformat</am:variantformat>
          <am:format>PDF/A</am:format>
          <am:referanseDokumentfil>bestilling.pdf</am:referanseDokumentfil>
        </am:dokumentobjekt>
      </am:dokumentbeskrivelse>
      <am:dokumentbeskrivelse>
        <am:tittel>Uten fil</am:tittel>
      </am:dokumentbeskrivelse>
      <am:tittel>Nye lysrør</am:tittel>
      <am:offentligTittel>Nye lysrør</am:offentligTittel>
      <am:virksomhetsspesifikkeMetadata>
        <am:forvaltningsnummer>20050</am:forvaltningsnummer>
      </am:virksomhetsspesifikkeMetadata>
      <am:journalpostnummer>12</am:journalpostnummer>
      <am:journalposttype>Utgående dokument</am:journalposttype>
      <am:journalstatus>Journalført</am:journalstatus>
      <am:journaldato>2017-05-23</am:journaldato>
      <am:korrespondansepart>
        <am:korrespondanseparttype>Mottaker</am:korrespondanseparttype>
        <am:korrespondansepartNavn>elektrikeren AS</am:korrespondansepartNavn>
      </am:korrespondansepart>
    </am:basisregistrering>
    <am:saksdato>2017-06-01</am:saksdato>
    <am:administrativEnhet>Blah</am:administrativEnhet>
    <am:saksansvarlig>KNUTKÅRE</am:saksansvarlig>
    <am:saksstatus>Avsluttet</am:saksstatus>
  </am:mappe>
</am:arkivmelding>
`;

    it("reads an archive system's arkivmelding with namespace prefixes", function () {
      const summary = parseArkivmeldingXml(FROM_ARCHIVE);
      assert.equal(summary.system, 'LandLord');
      assert.equal(summary.meldingId, '3380ed76-5d4c-43e7-aa70-8ed8d97e4835');
      assert.equal(summary.antallFiler, 3);
      assert.equal(summary.tittel, 'Nye lysrør');
      assert.equal(summary.offentligTittel, 'Nye lysrør');
      assert.deepEqual(summary.saksmappe, {
        systemID: '43fbe161-7aac-4c9f-a888-d8167aab4144',
        tittel: 'Nye lysrør Hauketo Skole',
        opprettetDato: '2017-06-01T10:10:12.000+01:00',
        klassifikasjon: [{ referanseKlassifikasjonssystem: 'Objekter', klasseID: '20500', tittel: 'Hauketo Skole' }],
        saksdato: '2017-06-01',
        administrativEnhet: 'Blah',
        saksansvarlig: 'KNUTKÅRE',
        saksstatus: 'Avsluttet',
      });
      assert.equal(summary.journalpost!.journalpostnummer, 12);
      assert.equal(summary.journalpost!.journalposttype, 'Utgående dokument');
      assert.equal(summary.journalpost!.forvaltningsnummer, undefined, 'nested business metadata is not flattened');
      assert.deepEqual(summary.journalpost!.korrespondansepart, [
        { korrespondanseparttype: 'Mottaker', korrespondansepartNavn: 'elektrikeren AS' },
      ]);
      assert.deepEqual(summary.documents, [
        { tittel: 'Bestilling - nye <lysrør>', tilknyttetRegistreringSom: 'Hoveddokument', dokumenttype: 'Bestilling', dokumentnummer: 1, filename: 'bestilling.docx', format: 'DOCX' },
        { tittel: 'Bestilling - nye <lysrør>', tilknyttetRegistreringSom: 'Hoveddokument', dokumenttype: 'Bestilling', dokumentnummer: 1, filename: 'bestilling.pdf', format: 'PDF/A' },
        { tittel: 'Tegning', tilknyttetRegistreringSom: 'Vedlegg', dokumenttype: 'Vedlegg', dokumentnummer: 2, filename: 'tegning.dwg', format: 'DWG' },
        { tittel: 'Uten fil' },
      ]);
    });

    it('reads a registrering without a saksmappe', function () {
      const summary = parseArkivmeldingXml(
        `<arkivmelding xmlns="${ARKIVMELDING_NAMESPACE}"><system>S</system><meldingsId>m</meldingsId>` +
          `<registrering><tittel>Bare en registrering</tittel><dokumentbeskrivelse><dokumentobjekt>` +
          `<referanseDokumentfil>a.pdf</referanseDokumentfil></dokumentobjekt></dokumentbeskrivelse></registrering></arkivmelding>`,
      );
      assert.deepEqual(summary, {
        system: 'S',
        meldingId: 'm',
        tittel: 'Bare en registrering',
        journalpost: { tittel: 'Bare en registrering' },
        documents: [{ filename: 'a.pdf' }],
      });
    });

    it('refuses malformed XML and other documents with a sentence saying where', function () {
      const cases: Array<[string, string]> = [
        ['<arkivmelding><system>x</sys></arkivmelding>', 'arkivmelding.xml: malformed XML at line 1: expected </system> but found </sys>'],
        ['<arkivmelding>\n<system>x</system>', 'arkivmelding.xml: malformed XML at line 2: <arkivmelding> is not closed'],
        ['<manifest/>', 'arkivmelding.xml: expected the root element <arkivmelding>, got <manifest>'],
        ['', 'arkivmelding.xml: malformed XML at line 1: no root element'],
        ['hei', 'arkivmelding.xml: malformed XML at line 1: text outside the root element'],
        ['<arkivmelding/><arkivmelding/>', 'arkivmelding.xml: malformed XML at line 1: more than one root element'],
        ['<!DOCTYPE x [<!ENTITY a "b">]><arkivmelding/>', 'arkivmelding.xml: malformed XML at line 1: DOCTYPE and entity declarations are not accepted'],
        ['<arkivmelding a=b/>', 'arkivmelding.xml: malformed XML at line 1: bad attribute or unclosed tag <arkivmelding>'],
        ['<arkivmelding></arkivmelding></x>', 'arkivmelding.xml: malformed XML at line 1: unexpected end tag </x>'],
        ['<arkivmelding><!-- x </arkivmelding>', 'arkivmelding.xml: malformed XML at line 1: unterminated comment'],
        ['<arkivmelding><![CDATA[x </arkivmelding>', 'arkivmelding.xml: malformed XML at line 1: unterminated CDATA section'],
        ['<?xml version="1.0"', 'arkivmelding.xml: malformed XML at line 1: unterminated <?...?>'],
        ['<![CDATA[x]]><arkivmelding/>', 'arkivmelding.xml: malformed XML at line 1: CDATA outside the root element'],
        ['<arkivmelding></ arkivmelding>', 'arkivmelding.xml: malformed XML at line 1: bad end tag'],
        ['<1arkivmelding/>', 'arkivmelding.xml: malformed XML at line 1: bad start tag'],
      ];
      for (const [xml, sentence] of cases) {
        assert.throws(() => parseArkivmeldingXml(xml), (err: unknown) => {
          assert.ok(err instanceof ValidationError);
          assert.equal(err.message, sentence, xml);
          return true;
        });
      }
      assert.throws(() => parseArkivmeldingXml(Buffer.from('<a/>') as unknown as string), {
        message: 'arkivmelding.xml: expected the XML as text',
      });
    });

    it('decodes character references and leaves unknown entities as written', function () {
      const summary = parseArkivmeldingXml(
        `<arkivmelding><registrering><tittel>&#x00C5;s &amp; &#229;s &nbsp; &#99999999;</tittel></registrering></arkivmelding>`,
      );
      assert.equal(summary.tittel, 'Ås & ås &nbsp; &#99999999;');
    });
  });
});
