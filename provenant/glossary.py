"""Plain-English explanations of C2PA validation status codes, for newsroom readers."""

from __future__ import annotations

__all__ = ["explain"]

_GLOSSARY: dict[str, str] = {
    "assertion.bmffHash.mismatch": "The video's data no longer matches the hash in its signature: "
    "the pictures or sound were changed after signing.",
    "assertion.dataHash.mismatch": "The file's data no longer matches the hash in its signature: "
    "the content was changed after signing.",
    "assertion.boxesHash.mismatch": "Part of the file no longer matches its signed hash: "
    "the content was changed after signing.",
    "assertion.hashedURI.mismatch": "A statement inside the manifest was altered after signing.",
    "assertion.missing": "The manifest refers to a statement that is no longer in the file.",
    "assertion.action.malformed": "The edit history in the manifest is malformed.",
    "assertion.action.softBindingMissing": "A watermark is declared but its soft binding is missing.",
    "claimSignature.mismatch": "The signature does not match the manifest: the manifest was altered.",
    "claimSignature.missing": "The manifest is not signed.",
    "claimSignature.outsideValidity": "The signature was made outside the certificate's validity period.",
    "claim.malformed": "The manifest is malformed.",
    "claim.missing": "The manifest store has no claim.",
    "signingCredential.untrusted": "The signer's certificate does not chain to a configured trust "
    "anchor: the content is intact, but nobody vouches for who signed it.",
    "signingCredential.invalid": "The signer's certificate is not valid for signing content.",
    "signingCredential.revoked": "The signer's certificate has been revoked.",
    "signingCredential.expired": "The signer's certificate is outside its validity period at "
    "the time checked: the signing time a trusted timestamp vouches for, else now. Without a "
    "trusted timestamp, a file signed while the certificate was valid reads so once it "
    "expires: the content is intact, but when it was signed cannot be shown.",
    "timeStamp.mismatch": "The trusted timestamp does not match the signature.",
    "timeStamp.untrusted": "The timestamp authority is not trusted.",
    "manifest.multipleParents": "The manifest lists more than one parent ingredient.",
    "ingredient.hashedURI.mismatch": "An ingredient's manifest was altered.",
    "algorithm.unsupported": "The manifest uses an algorithm this validator does not support.",
    "general.error": "The validator hit an error while checking the manifest.",
}


def explain(code: str, sdk_explanation: str | None = None) -> str:
    """A sentence for ``code``; falls back to the SDK's own wording, then to the code."""
    if code in _GLOSSARY:
        return _GLOSSARY[code]
    if sdk_explanation:
        return sdk_explanation[0].upper() + sdk_explanation[1:] + "."
    return f"Validation reported {code}."
