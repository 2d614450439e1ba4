"""Keys, scopes, audit, PII protection and forget-user (PIPL / GDPR) for the profile service.

Everything lives in one SQLite file per warehouse, `warehouse/access.sqlite`:
  meta       the warehouse secret (random, created once) that salts PII and user-id hashes
  api_keys   key id, name, scopes, per-key salt and sha256(salt + secret part); never the key
  audit      every write: time, key id, action, target, detail (no personal data)
  forgotten  salted hashes of forgotten user ids, filtered out of every future build and export
"""

from portrait.privacy.access import SCOPES, AccessStore, Principal
from portrait.privacy.pii import mask_value, normalise, pii_hash

__all__ = ["SCOPES", "AccessStore", "Principal", "mask_value", "normalise", "pii_hash"]
