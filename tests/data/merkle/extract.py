"""Rebuild rfc6962.json from a checkout of https://github.com/transparency-dev/merkle.

    python extract.py /path/to/merkle > rfc6962.json

Reads the Go sources named in README.md and copies their hex literals; computes nothing.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HEX = re.compile(r'hd\("([0-9a-f]*)"\)')


def function_body(source: str, name: str) -> str:
    start = source.index(f"func {name}(")
    depth, i = 0, source.index("{", start)
    for j in range(i, len(source)):
        depth += {"{": 1, "}": -1}.get(source[j], 0)
        if depth == 0:
            return source[i : j + 1]
    raise ValueError(name)


def proof_table(body: str, keys: tuple[str, str]) -> list[dict[str, object]]:
    a, b = keys
    rows = []
    for m in re.finditer(rf"\{{{a}: (\d+), {b}: (\d+), want: (nil|\[\]\[\]byte\{{(.*?)\}})\}}", body, re.S):
        rows.append({a: int(m[1]), b: int(m[2]), "proof": HEX.findall(m[4] or "")})
    return rows


def main(repo: Path) -> None:
    constants = (repo / "testonly/constants.go").read_text()
    reference = (repo / "testonly/reference_test.go").read_text()
    hasher = (repo / "rfc6962/rfc6962_test.go").read_text()
    vectors = (repo / "testonly/vectors_test.go").read_text()
    levels = [HEX.findall(level) for level in function_body(constants, "NodeHashes").split("}, {")]
    compact = re.findall(r"\{([^{}]*)\}|nil", function_body(constants, "CompactTrees").split("return")[1])
    nh = {f"nh[{lv}][{i}]": h for lv, row in enumerate(levels) for i, h in enumerate(row)}
    out = {
        "hasher": [
            {"desc": d, "want": w}
            for d, w in re.findall(
                r'desc: "([^"]+)",\s*want: "([0-9a-f]{64})"', function_body(hasher, "TestRFC6962Hasher")
            )
        ],
        "leafInputs": HEX.findall(function_body(constants, "LeafInputs")),
        "nodeHashes": levels,
        "rootHashes": [
            HEX.findall(function_body(constants, "EmptyRootHash"))[0]
            if "EmptyRootHash()" in line
            else HEX.findall(line)[0]
            for line in function_body(constants, "RootHashes").splitlines()
            if "EmptyRootHash()" in line or HEX.search(line)
        ],
        "compactTrees": [[nh[ref.strip()] for ref in c.split(",") if ref.strip()] for c in compact],
        "inclusionProofs": proof_table(function_body(reference, "TestRefInclusionProof"), ("index", "size")),
        "consistencyProofs": proof_table(function_body(reference, "TestRefConsistencyProof"), ("size1", "size2")),
        "subtreeVectors": {
            name: re.search(r'const want = "([0-9a-f]{64})"', function_body(vectors, name))[1]
            for name in ("TestSubtreeHashVectors", "TestSubtreeInclusionProofVectors")
        },
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
