<?php
// vir-gateway from PHP's SoapClient: two organisations file a melding on one youth, read the match,
// change only the planned end date, read a fault code and retry a berichtId safely.
//
//   php voorbeeld.php WSDL-URL BSN [1.1|1.2]
//
// Exits 0 when every step gave what the contract promises; prints one "key: value" line per step.

const GATEWAY_OIN = '00000001000000000000';
const ORG_A = '00000001111111111000';
const ORG_B = '00000001222222222000';

[$script, $wsdl, $bsn] = $argv;
$versie = ($argv[3] ?? '1.1') === '1.2' ? SOAP_1_2 : SOAP_1_1;

$client = new SoapClient($wsdl, [
    'soap_version' => $versie,
    'exceptions' => true,
    'cache_wsdl' => WSDL_CACHE_NONE,
    // A list with one element stays a list (otherwise PHP hands back the element itself).
    'features' => SOAP_SINGLE_ELEMENT_ARRAYS,
    'trace' => true,
]);

function uuid4(): string
{
    $b = random_bytes(16);
    $b[6] = chr((ord($b[6]) & 0x0f) | 0x40);
    $b[8] = chr((ord($b[8]) & 0x3f) | 0x80);
    return vsprintf('%s%s-%s-%s-%s-%s%s%s', str_split(bin2hex($b), 4));
}

function stuurgegevens(string $oin, ?string $berichtId = null): array
{
    return [
        'berichtId' => $berichtId ?? uuid4(),
        // xs:dateTime as a string: SoapClient does not convert DateTime objects.
        'tijdstip' => gmdate('Y-m-d\TH:i:s\Z'),
        'zender' => ['oin' => $oin, 'applicatie' => 'voorbeeld-php'],
        'ontvanger' => ['oin' => GATEWAY_OIN],
    ];
}

function melding(string $oin, string $bsn, string $naam, ?string $berichtId = null): array
{
    return [
        'stuurgegevens' => stuurgegevens($oin, $berichtId),
        'jongere' => ['bsn' => $bsn],
        'meldingsbevoegde' => ['naam' => $naam, 'telefoon' => '050-1234567'],
    ];
}

function fail(string $waarom): void
{
    fwrite(STDERR, "FAILED: $waarom\n");
    exit(1);
}

// 1. Organisation A files: no match yet.
$a = $client->MeldingAfgeven(melding(ORG_A, $bsn, 'A. de Vries'));
echo "melding A: {$a->meldingId}\n";

// 2. Organisation B files on the same youth, and the answer carries the match with A's contact card.
$berichtIdB = uuid4();
$verzoekB = melding(ORG_B, $bsn, 'B. Bakker', $berichtIdB);
$b = $client->MeldingAfgeven($verzoekB);
echo "melding B: {$b->meldingId}\n";
$match = $b->match[0] ?? fail('no match in the answer to B');
echo "match: {$match->matchId} with {$match->partij[0]->instantie->oin}\n";
if ($match->partij[0]->instantie->oin !== ORG_A) {
    fail('the match does not name A');
}

// 3. A reads its matches: B is the other party.
$m = $client->MatchesOpvragen(['stuurgegevens' => stuurgegevens(ORG_A), 'meldingId' => $a->meldingId]);
$partij = $m->match[0]->partij[0]->instantie->oin ?? fail('A sees no match');
echo "matches A: {$m->totaal}, party {$partij}\n";

// 4. A changes only the planned end date of its melding (no meldingsbevoegde): a new berichtId, and the
//    answer carries the end date the gateway stored.
$einddatum = (new DateTimeImmutable('now', new DateTimeZone('UTC')))->modify('+90 days')->format('Y-m-d');
$w = $client->MeldingWijzigen([
    'stuurgegevens' => stuurgegevens(ORG_A),
    'meldingId' => $a->meldingId,
    'geplandeEinddatum' => $einddatum,  // xs:date as a string, like tijdstip
]);
echo "einddatum A: {$w->geplandeEinddatum}, sent {$einddatum}\n";
if ($w->meldingId !== $a->meldingId || $w->geplandeEinddatum !== $einddatum) {
    fail('the end date did not change');
}

// 5. A retry of B's request (same berichtId, same body: e.g. after a timeout) returns the stored answer.
$opnieuw = $client->MeldingAfgeven($verzoekB);
if ($opnieuw->meldingId !== $b->meldingId) {
    fail('the retry filed a second melding');
}
echo "retry: {$opnieuw->meldingId} (the same answer)\n";

// 6. A files again on the same youth: a fault whose stable code is in detail/fout/code.
try {
    $client->MeldingAfgeven(melding(ORG_A, $bsn, 'A. de Vries'));
    fail('a second active melding was accepted');
} catch (SoapFault $f) {
    $code = $f->detail->fout->code ?? fail('no g:fout in the fault: ' . $f->getMessage());
    echo "fault: {$code}\n";
}
// Which SOAP version went over the wire: the envelope namespace of the last request.
preg_match('/Envelope xmlns:[A-Za-z0-9-]+="([^"]+)"/', $client->__getLastRequest(), $env);
echo "envelope: {$env[1]}\n";
