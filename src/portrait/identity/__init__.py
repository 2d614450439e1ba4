"""Identity resolution (ID-Mapping / OneID): ids linked by `links` sources become one person."""

from portrait.identity.resolve import IdentityResult, resolve_identity

__all__ = ["IdentityResult", "resolve_identity"]
