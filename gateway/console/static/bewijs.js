// Checks a log entry's inclusion proof in the browser, with WebCrypto SHA-256 (RFC 9162 §2.1):
//   leaf data = "vir-log-v1\n" + canonical JSON of the metadata (gateway/log/regel.py)
//   leaf hash = SHA-256(0x00 || leaf data);  node hash = SHA-256(0x01 || left || right)
// and compares the root the audit path leads to with the root in the signed checkpoint.
"use strict";

const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
const uitHex = (h) => new Uint8Array(h.match(/../g).map((b) => parseInt(b, 16)));
const uitBase64 = (b) => Uint8Array.from(atob(b), (c) => c.charCodeAt(0));
const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
const samen = (...delen) => {
  const uit = new Uint8Array(delen.reduce((n, d) => n + d.length, 0));
  let i = 0;
  for (const d of delen) { uit.set(d, i); i += d.length; }
  return uit;
};
const leafHash = (data) => sha256(samen(new Uint8Array([0]), data));
const nodeHash = (l, r) => sha256(samen(new Uint8Array([1]), l, r));

// Exactly json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False): JSON.stringify escapes
// strings the same way (quote, backslash, control characters; the rest as is).
function leafData(m) {
  const s = (v) => (v === null ? "null" : JSON.stringify(v));
  const json =
    `{"actor":${s(m.actor)},"berichtId":${s(m.berichtId)},"correlatieId":${s(m.correlatieId)},` +
    `"foutcode":${s(m.foutcode)},"kruisverwijzing":${s(m.kruisverwijzing)},"operatie":${s(m.operatie)},` +
    `"payloadLengte":${Number(m.payloadLengte)},"payloadSha256":"${m.payloadSha256}","soort":${s(m.soort)},` +
    `"tijdstip":${s(m.tijdstip)},"volgnummer":${Number(m.volgnummer)}}`;
  return new TextEncoder().encode("vir-log-v1\n" + json);
}

// RFC 9162 §2.1.3.2: the root that leaf `index` and its audit path give for a tree of `size` leaves.
async function wortelUitPad(leaf, index, size, pad) {
  if (index >= size) return null;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of pad) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn !== 0 && fn % 2 === 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

function checkpointWaarden(xml) {
  const doc = new DOMParser().parseFromString(xml, "application/xml");
  const ns = "urn:nl:vir:gateway:log:v1";
  const tekst = (naam) => (doc.getElementsByTagNameNS(ns, naam)[0] || {}).textContent;
  return { grootte: Number(tekst("grootte")), wortel: hex(uitBase64((tekst("wortel") || "").trim())) };
}

async function controleer() {
  const uitslag = document.getElementById("bewijsresultaat");
  const stappen = document.getElementById("bewijsstappen");
  const stap = (ok, tekst) => {
    const li = document.createElement("li");
    li.textContent = (ok ? "✓ " : "✗ ") + tekst;
    li.dataset.ok = ok ? "ja" : "nee";
    stappen.appendChild(li);
    return ok;
  };
  const g = JSON.parse(document.getElementById("bewijsgegevens").textContent);
  const m = g.metadata;
  let goed = true;
  if (g.payload !== null) {
    const digest = hex(await sha256(uitBase64(g.payload)));
    goed = stap(digest === m.payloadSha256, `payload-digest ${digest} ${digest === m.payloadSha256 ? "=" : "≠"} payloadSha256 uit de metadata`) && goed;
  } else {
    stap(true, "payload verwijderd: de digest uit de metadata telt");
  }
  const leaf = await leafHash(leafData(m));
  goed = stap(hex(leaf) === g.leaf, `leaf-hash uit de metadata ${hex(leaf)} ${hex(leaf) === g.leaf ? "=" : "≠"} opgeslagen leaf-hash`) && goed;
  const cp = checkpointWaarden(g.checkpoint);
  goed = stap(cp.grootte === g.grootte, `checkpoint omvat ${cp.grootte} regels`) && goed;
  const wortel = await wortelUitPad(leaf, m.volgnummer, g.grootte, g.pad.map(uitHex));
  const w = wortel ? hex(wortel) : "(geen)";
  goed = stap(w === cp.wortel, `wortel uit het auditpad ${w} ${w === cp.wortel ? "=" : "≠"} wortel van het ondertekende checkpoint ${cp.wortel}`) && goed;
  uitslag.dataset.uitkomst = goed ? "geldig" : "ongeldig";
  uitslag.textContent = goed
    ? `Bewijs klopt: regel ${m.volgnummer} staat ongewijzigd in het logboek van ${g.grootte} regels.`
    : `Bewijs klopt NIET: deze regel is gewijzigd of hoort niet bij het ondertekende checkpoint.`;
}

document.addEventListener("DOMContentLoaded", () => {
  if (!document.getElementById("bewijsgegevens")) return;
  controleer().catch((e) => {
    const uitslag = document.getElementById("bewijsresultaat");
    uitslag.dataset.uitkomst = "ongeldig";
    uitslag.textContent = "Bewijs kon niet worden gecontroleerd: " + e;
  });
});
