#!/usr/bin/env python3
"""Signs a Confidant identity token for a signed-in customer (docs/security.md, "Verified visitors").

Run it on your site's backend, once per page view, and put the result in the widget's
`data-identity-token` attribute. Only the standard library is needed.

    python3 identity-token.py WIDGET_KEY SECRET USER_ID [EMAIL] [NAME]
"""
import base64
import hashlib
import hmac
import json
import secrets
import sys
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def identity_token(widget_key: str, secret: str, user_id: str, email: str | None = None, name: str | None = None, lifetime: int = 600) -> str:
    payload = {"site": widget_key, "sub": user_id, "exp": int(time.time()) + lifetime, "nonce": secrets.token_urlsafe(24)}
    if email:
        payload["email"] = email
    if name:
        payload["name"] = name
    body = b64url(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    signature = hmac.new(secret.encode("utf-8"), body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{b64url(signature)}"


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    print(identity_token(*sys.argv[1:4], *(sys.argv[4:6])))
