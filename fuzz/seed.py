#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the
request vectors in tests/vectors/*.json, plus a few hand-made seeds for the parts
the vectors do not cover (Azure AD tokens, the handshake, authentication).

Usage: fuzz/seed.py [REPO_ROOT]   (standard library only; seeds are named by their
SHA-1, so running it again adds nothing twice and keeps what the fuzzer found).

The input formats are those of fuzz/src/lib.rs: header lines `name:value`, an empty
line, the body.
"""

import base64
import glob
import hashlib
import hmac
import json
import os
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED = 64 * 1024  # the scripts' -max_len for the body targets

counts = {}


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_SEED:
        return
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        counts[target] = counts.get(target, 0) + 1


def body_of(vector):
    if "body" in vector:
        return vector["body"].encode()
    if "body_base64" in vector:
        return base64.b64decode(vector["body_base64"])
    if "body_repeat" in vector:
        r = vector["body_repeat"]
        return r["byte"].encode() * min(r["count"], 4096)  # a taste, not 1 MiB
    return b""


def header_block(headers):
    return b"".join(f"{n}:{v}\n".encode("latin-1") for n, v in headers)


vectors = []
for path in sorted(glob.glob(os.path.join(ROOT, "tests", "vectors", "*.json"))):
    with open(path, encoding="utf-8") as f:
        loaded = json.load(f)
    vectors += loaded if isinstance(loaded, list) else [loaded]

for v in vectors:
    headers = v["headers"]
    body = body_of(v)
    # Every vector is a request: the binary target parses with mode detection.
    write("binary", header_block(headers) + b"\n" + body)
    content_type = next((val.lower() for n, val in headers if n.lower() == "content-type"), "")
    if "cloudevents-batch+json" in content_type or body.lstrip().startswith(b"["):
        write("batch", body)
    elif "cloudevents+json" in content_type:
        write("structured", body)
    # Header values, raw: percent-encoded, quoted, plain.
    for n, val in headers:
        if n.lower().startswith("ce-"):
            write("header_value", val)
    # Web PubSub deliveries: signature and authentication seeds.
    names = {n.lower(): val for n, val in headers}
    if "ce-signature" in names:
        conn = names.get("ce-connectionid", "")
        origin = names.get("webhook-request-origin", "")
        write("signature", f"{conn}\n{origin}\n{names['ce-signature']}")
        write("auth", "\n" + header_block(headers).decode("latin-1"))

# Header values the vectors do not have: obs-text (ISO-8859-1), escapes, bad UTF-8.
for value in [b"Z\xfcrich", b'"a\\"b"', b'"%E2%82%AC"', b"%C0%A0", b"100%", b'"open', b"  %41  ", b""]:
    write("header_value", value)

# Signatures: valid ones for the keys of fuzz_targets/signature.rs.
def sig(key, conn):
    return "sha256=" + hmac.new(key.encode(), conn.encode(), hashlib.sha256).hexdigest()

conn = "0f9c97a2f0bf4706afe87a14e0797b11"
write("signature", f"{conn}\n\n{sig('primary-key', conn)}")
write("signature", f"{conn}\nhttps://hub.webpubsub.azure.com/\n{sig('k1', conn)}, {sig('k2', conn)}")
write("signature", f"{conn}\nother.example:443\nsha256=00,{sig('k2', conn).upper()}\n{sig('k1', conn)}")

# Azure AD tokens: header.payload.signature in base64url.
def b64(raw):
    return base64.urlsafe_b64encode(raw.encode() if isinstance(raw, str) else raw).rstrip(b"=").decode()

payload = b64('{"aud":"api://x","iss":"https://sts.windows.net/t/","exp":4102444800}')
for header in [
    '{"alg":"RS256","kid":"k1","typ":"JWT"}',
    '{"alg":"RS256","x5t":"thumb","kid":""}',
    '{"alg":"none","kid":"k"}',
    '{"alg":"HS256","kid":"k"}',
    '{"alg":"RS256","kid":"k","crit":["b64"]}',
    '{"typ":"JWT"}',
]:
    write("jwt", f"{b64(header)}.{payload}.{b64(bytes(range(32)))}")
write("jwt", "a.b.c")
write("jwt", "..")

# Handshakes: method, header lines, empty line, validation body.
validation = json.dumps([{
    "id": "1", "topic": "t", "subject": "", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
    "eventTime": "2026-01-01T00:00:00Z", "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
    "dataVersion": "1", "metadataVersion": "1"}])
for method, headers, body in [
    ("OPTIONS", [("WebHook-Request-Origin", "eventgrid.azure.net")], ""),
    ("OPTIONS", [("WebHook-Request-Origin", "EventGrid.Azure.Net"), ("WebHook-Request-Rate", "120")], ""),
    ("OPTIONS", [("WebHook-Request-Origin", "eventgrid.azure.net.evil.example")], ""),
    ("OPTIONS", [("WebHook-Request-Origin", "hub.webpubsub.azure.com"),
                 ("WebHook-Request-Callback", "https://hub.webpubsub.azure.com/callback?code=1")], ""),
    ("OPTIONS", [("WebHook-Request-Origin", "sender.example"),
                 ("WebHook-Request-Callback", "https://[::ffff:127.0.0.1]:8443/x")], ""),
    ("GET", [("WebHook-Request-Origin", "x"), ("WebHook-Request-Callback", "http://user@host/")], ""),
    ("OPTIONS", [("WebHook-Request-Origin", "a"), ("WebHook-Request-Origin", "b")], ""),
    ("OPTIONS", [("WebHook-Request-Origin", "a"), ("WebHook-Request-Rate", "0")], ""),
    ("POST", [("aeg-event-type", "SubscriptionValidation")], validation),
]:
    write("handshake", f"{method}\n" + header_block(headers).decode("latin-1") + "\n" + body)

# Authentication: query string, header lines.
for query, headers in [
    ("code=s3cret-one", []),
    ("x=1&access_token=s3cret+two%2B%25", []),
    ("", [("Authorization", "Bearer s3cret-one")]),
    ("", [("Authorization", "Basic Zm9vOmJhcg==")]),
    ("code=wrong", [("ce-signature", sig("primary-key", conn)), ("ce-connectionId", conn)]),
]:
    write("auth", f"{query}\n" + header_block(headers).decode("latin-1"))

print(" ".join(f"{t}:{n}" for t, n in sorted(counts.items())) or "no new seeds")
