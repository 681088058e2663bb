"""The signed message log: an append-only Merkle tree (RFC 9162 style) over every message, fault and
operator action, with signed checkpoints, proofs and offline verification."""
