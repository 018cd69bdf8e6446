import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { Capabilities } from '../src/schemas/capabilities';
import { SimulatorError } from '../src/simulator/errors';
import { ARKIVMELDING_AREAS, ServiceRegistry } from '../src/simulator/registry';

const EXAMPLE = path.join(__dirname, '..', 'fixtures', 'registry.json');
const ADMIN = 'urn:no:difi:profile:arkivmelding:administrasjon:ver1.0';
const ARKIVMELDING = 'urn:no:difi:arkivmelding:xsd::arkivmelding';

function thrown(fn: () => unknown): SimulatorError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SimulatorError, `expected a SimulatorError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

describe('simulator service registry', () => {
  const registry = ServiceRegistry.fromFile(EXAMPLE, ['910000009', '920000008']);

  it('gives hosted organisations DPO arkivmelding for every common process area, receipts and avtalt', () => {
    const { capabilities } = registry.capabilities('920000008', {});
    Capabilities.parse({ capabilities });
    for (const area of ARKIVMELDING_AREAS) {
      const c = capabilities.find((x) => x.process === `urn:no:difi:profile:arkivmelding:${area}:ver1.0`);
      assert.ok(c, `missing ${area}`);
      assert.equal(c.serviceIdentifier, 'DPO');
      assert.deepEqual(c.documentTypes, [{ type: 'arkivmelding', standard: ARKIVMELDING }]);
    }
    const response = capabilities.find((x) => x.process === 'urn:no:difi:profile:arkivmelding:response:ver1.0');
    assert.deepEqual(
      response?.documentTypes.map((d) => d.type),
      ['arkivmelding_kvittering', 'status', 'feil'],
    );
    const avtalt = capabilities.find((x) => x.process === 'urn:no:difi:profile:avtalt:avtalt:ver1.0');
    assert.deepEqual(avtalt?.documentTypes, [{ type: 'avtalt', standard: 'urn:no:difi:avtalt:xsd::avtalt' }]);
    assert.ok(capabilities.some((x) => x.process === 'urn:no:difi:profile:avtalt:response:ver1.0'));
  });

  it('knows which organisations it hosts, also in 0192: form', () => {
    assert.equal(registry.isHosted('910000009'), true);
    assert.equal(registry.isHosted('0192:920000008'), true);
    assert.equal(registry.isHosted('930000007'), false);
  });

  it('filters by process', () => {
    const { capabilities } = registry.capabilities('910000009', { process: ADMIN, securityLevel: 4 });
    assert.equal(capabilities.length, 1);
    assert.equal(capabilities[0].process, ADMIN);
    assert.deepEqual(registry.capabilities('910000009', { process: 'urn:no:difi:profile:nothing:ver1.0' }).capabilities, []);
  });

  it('serves the example fixture: a DPI person, a DPV business, a DPF municipality', () => {
    const person = registry.capabilities('01017012345', {}).capabilities;
    assert.ok(person.length >= 1);
    assert.equal(person[0].serviceIdentifier, 'DPI');
    assert.equal(person[0].digitalPostAddress?.supplier, '984661185');
    assert.equal(person[0].postAddress?.postalArea, 'OSLO');
    assert.equal(registry.capabilities('930000007', { process: ADMIN }).capabilities[0].serviceIdentifier, 'DPV');
    assert.equal(registry.capabilities('940000006', { process: ADMIN }).capabilities[0].serviceIdentifier, 'DPF');
    assert.equal(registry.nameOf('940000006'), 'Testkommune');
  });

  it('answers 404 IdentifierNotFoundException for an unknown identifier, with the IP message', () => {
    const err = thrown(() => registry.capabilities('999999999', {}));
    assert.equal(err.status, 404);
    assert.equal(err.exception, 'no.difi.meldingsutveksling.exceptions.IdentifierNotFoundException');
    assert.match(err.message, /Service record not found for parameters: SRParameter\(identifier=999999999/);
  });

  it('resolves the capability a message travels by', () => {
    assert.equal(registry.resolve('0192:920000008', ADMIN, ARKIVMELDING).serviceIdentifier, 'DPO');
    assert.equal(registry.resolve('940000006', ADMIN, ARKIVMELDING).serviceIdentifier, 'DPF');
    const dpi = registry.resolve('01017012345', 'urn:no:difi:profile:digitalpost:info:ver1.0', 'urn:no:difi:digitalpost:xsd:fysisk::print', 4);
    assert.equal(dpi.serviceIdentifier, 'DPI');
  });

  it('rejects a process or document type the receiver does not accept, saying what it accepts', () => {
    const process = 'urn:no:difi:profile:digitalpost:info:ver1.0';
    const err = thrown(() => registry.resolve('920000008', process, 'urn:no:difi:digitalpost:xsd:digital::digital'));
    assert.equal(err.status, 400);
    assert.equal(err.exception, 'no.difi.meldingsutveksling.exceptions.ReceiverDoesNotAcceptProcessException');
    assert.equal(err.message, `Receiver do not accept the document process ${process}`);
    assert.match(err.description ?? '', /accepts: .*urn:no:difi:profile:arkivmelding:administrasjon:ver1\.0 \(DPO: urn:no:difi:arkivmelding:xsd::arkivmelding\)/);

    const wrongType = thrown(() => registry.resolve('940000006', ADMIN, 'urn:no:difi:avtalt:xsd::avtalt'));
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.description ?? '', /document type 'urn:no:difi:avtalt:xsd::avtalt'/);
  });

  it('rejects sending to an unknown receiver as the IP does (400, description from the registry)', () => {
    const err = thrown(() => registry.resolve('999999999', ADMIN, ARKIVMELDING));
    assert.equal(err.status, 400);
    assert.match(err.description ?? '', /Service record not found/);
  });

  it('accepts a fixture object, which can replace a hosted organisation\'s capabilities', () => {
    const r = new ServiceRegistry(['910000009'], {
      receivers: [{ identifier: '910000009', capabilities: [{ process: ADMIN, serviceIdentifier: 'DPO', documentTypes: [] }] }],
    });
    assert.equal(r.capabilities('910000009', {}).capabilities.length, 1);
  });

  it('names the field of a malformed fixture', () => {
    assert.throws(
      () => new ServiceRegistry([], { receivers: [{ identifier: 'abc', capabilities: [] }] }),
      /registry fixture: receivers\[0\]\.identifier: expected a 9-digit organisation number/,
    );
    assert.throws(() => ServiceRegistry.fromFile('/nonexistent/registry.json'), /Cannot read the registry file \/nonexistent\/registry\.json/);
  });

  it('returns copies, so callers cannot change the registry', () => {
    const first = registry.capabilities('910000009', { process: ADMIN });
    first.capabilities[0].process = 'changed';
    assert.equal(registry.capabilities('910000009', { process: ADMIN }).capabilities.length, 1);
  });
});
