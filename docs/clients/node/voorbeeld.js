// vir-gateway from Node with node-soap: two organisations file a melding on one youth, read the match,
// change only the planned end date, read a fault code and retry a berichtId safely.
//
//   node voorbeeld.js WSDL-URL BSN [1.1|1.2]
//
// Exits 0 when every step gave what the contract promises; prints one "key: value" line per step.
'use strict';

const crypto = require('node:crypto');
const soap = require('soap');

const GATEWAY_OIN = '00000001000000000000';
const ORG_A = '00000001111111111000';
const ORG_B = '00000001222222222000';

function stuurgegevens(oin, berichtId) {
  return {
    berichtId: berichtId || crypto.randomUUID(),
    // xs:dateTime as a string: node-soap writes a JavaScript Date as an empty element, which the
    // gateway refuses (VIR-SCHEMA-WAARDE-ONGELDIG).
    tijdstip: new Date().toISOString(),
    zender: { oin, applicatie: 'voorbeeld-node' },
    ontvanger: { oin: GATEWAY_OIN },
  };
}

function melding(oin, bsn, naam, berichtId) {
  return {
    stuurgegevens: stuurgegevens(oin, berichtId),
    jongere: { bsn },
    meldingsbevoegde: { naam, telefoon: '050-1234567' },
  };
}

// node-soap gives a list with one element as the element itself.
const lijst = (x) => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

// The stable code of a SOAP fault: Fault/detail/fout/code (SOAP 1.1) or Fault/Detail/fout/code (SOAP 1.2).
function foutcode(err) {
  const fault = err && err.root && err.root.Envelope && err.root.Envelope.Body && err.root.Envelope.Body.Fault;
  const detail = fault && (fault.detail || fault.Detail);
  return detail && detail.fout && detail.fout.code;
}

function fail(waarom) {
  console.error(`FAILED: ${waarom}`);
  process.exit(1);
}

async function main() {
  const [wsdl, bsn, versie = '1.1'] = process.argv.slice(2);
  const soap12 = versie === '1.2';
  // The WSDL has a SOAP 1.1 and a SOAP 1.2 port; forceSoap12Headers makes node-soap send SOAP 1.2
  // (envelope namespace and application/soap+xml). node-soap turns an xs:date in an answer into a Date
  // (midnight UTC); the customDeserializer keeps it as the text the gateway sent ('YYYY-MM-DD').
  const client = await soap.createClientAsync(wsdl, {
    forceSoap12Headers: soap12,
    customDeserializer: { date: (text) => text },
  });

  // 1. Organisation A files: no match yet.
  const [a] = await client.MeldingAfgevenAsync(melding(ORG_A, bsn, 'A. de Vries'));
  console.log(`melding A: ${a.meldingId}`);

  // 2. Organisation B files on the same youth; the answer carries the match with A's contact card.
  const verzoekB = melding(ORG_B, bsn, 'B. Bakker', crypto.randomUUID());
  const [b] = await client.MeldingAfgevenAsync(verzoekB);
  console.log(`melding B: ${b.meldingId}`);
  const match = lijst(b.match)[0] || fail('no match in the answer to B');
  const partijB = lijst(match.partij)[0];
  console.log(`match: ${match.matchId} with ${partijB.instantie.oin}`);
  if (partijB.instantie.oin !== ORG_A) fail('the match does not name A');

  // 3. A reads its matches: B is the other party.
  const [m] = await client.MatchesOpvragenAsync({ stuurgegevens: stuurgegevens(ORG_A), meldingId: a.meldingId });
  const gezien = lijst(m.match)[0] || fail('A sees no match');
  console.log(`matches A: ${m.totaal}, party ${lijst(gezien.partij)[0].instantie.oin}`);

  // 4. A changes only the planned end date of its melding (no meldingsbevoegde): a new berichtId, and the
  //    answer carries the end date the gateway stored.
  const dag = new Date();
  dag.setUTCDate(dag.getUTCDate() + 90);
  const einddatum = dag.toISOString().slice(0, 10); // xs:date as a string 'YYYY-MM-DD', not a Date
  const [w] = await client.MeldingWijzigenAsync({
    stuurgegevens: stuurgegevens(ORG_A),
    meldingId: a.meldingId,
    geplandeEinddatum: einddatum,
  });
  console.log(`einddatum A: ${w.geplandeEinddatum}, sent ${einddatum}`);
  if (w.meldingId !== a.meldingId || w.geplandeEinddatum !== einddatum) fail('the end date did not change');

  // 5. A retry of B's request (same berichtId, same body: e.g. after a timeout) returns the stored answer.
  const [opnieuw] = await client.MeldingAfgevenAsync(verzoekB);
  if (opnieuw.meldingId !== b.meldingId) fail('the retry filed a second melding');
  console.log(`retry: ${opnieuw.meldingId} (the same answer)`);

  // 6. A files again on the same youth: a fault whose stable code is in detail/fout/code.
  try {
    await client.MeldingAfgevenAsync(melding(ORG_A, bsn, 'A. de Vries'));
    fail('a second active melding was accepted');
  } catch (err) {
    const code = foutcode(err) || fail(`no g:fout in the fault: ${err.message}`);
    console.log(`fault: ${code}`);
  }
  // Which SOAP version went over the wire: the envelope namespace of the last request.
  console.log(`envelope: ${/Envelope xmlns:[A-Za-z0-9-]+="([^"]+)"/.exec(client.lastRequest)[1]}`);
}

main().catch((err) => fail(err.stack || String(err)));
