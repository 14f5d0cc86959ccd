"""The console's sign-in and browser upload path on the local stack (no console Lambda yet).

Usage: scripts/local-stack run -- .local/moto-venv/bin/python tests/local-stack/console_check.py
       (smoke.py runs it first when the stack has a console: LOCAL_STACK_CONSOLE is not 0)

Checks, against moto as setup.py left it (IAM enforced, the launcher's exceptions):
1. the local admin signs in (InitiateAuth USER_PASSWORD_AUTH, unsigned as the SDKs send it),
   answers NEW_PASSWORD_REQUIRED, and gets tokens that verify against the JWKS served at
   LOCAL_CONSOLE_JWKS_URL, with the ConsoleIssuer output as `iss` and the client's id;
2. GlobalSignOut (unsigned) makes Cognito refuse the refresh token it accepted just before;
3. the browser's upload requests: an unsigned CORS preflight from the console's origin and a
   presigned UploadPart both answer 200 with ETag exposed; an unsigned PUT without a
   signature is still refused (the launcher lets through only presigned requests).
Afterwards the admin's temporary password is the env file's again (AdminSetUserPassword), so
that a person can still sign in with it. Exits 0 when every check passed.
"""

import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from joserfc import jwt
from joserfc.jwk import KeySet

# Not under uploads/: an object there starts a post (the bucket's EventBridge rule).
CHECK_PREFIX = "console-check/"


def say(message):
    print(f"console: {message}", flush=True)


class CheckFailed(Exception):
    pass


def expect(condition, what):
    if not condition:
        raise CheckFailed(what)


def http(method, url, headers):
    """One unsigned request, as a browser sends it. Returns (status, headers)."""
    data = None
    if method == "PUT":
        # A part carries the file's type (urllib's default, a form type, would make moto read
        # the body as form fields and lose the query's partNumber).
        data, headers = b"part bytes", {**headers, "Content-Type": "video/mp4"}
    request = urllib.request.Request(url, method=method, headers=headers, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers


def console_origin(env):
    """The template's CORS origin: where the console is served, the public base URL (the
    local API's URL, also with a front door: see setup.py)."""
    url = urllib.parse.urlsplit(env["PUBLIC_BASE_URL"])
    return f"{url.scheme}://{url.netloc}"


def sign_in(cognito, env):
    client_id = env["STACK_CONSOLE_USER_POOL_CLIENT_ID"]
    first = cognito.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": env["LOCAL_CONSOLE_ADMIN_EMAIL"],
                        "PASSWORD": env["LOCAL_CONSOLE_ADMIN_TEMPORARY_PASSWORD"]})
    expect(first.get("ChallengeName") == "NEW_PASSWORD_REQUIRED",
           f"first sign-in: expected NEW_PASSWORD_REQUIRED, got {first.get('ChallengeName')}")
    # The challenge names the user by Cognito's username (the sub with e-mail sign-in).
    answered = cognito.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED", Session=first["Session"],
        ChallengeResponses={"USERNAME": first["ChallengeParameters"]["USERNAME"],
                            "NEW_PASSWORD": f"{secrets.token_urlsafe(18)}Bb2"})
    tokens = answered.get("AuthenticationResult")
    expect(tokens, "the new password was answered without tokens")
    return tokens


def check_tokens(tokens, env):
    with urllib.request.urlopen(env["LOCAL_CONSOLE_JWKS_URL"], timeout=10) as answer:
        jwks = json.load(answer)
    kids = {key["kid"] for key in jwks["keys"]}
    keys = KeySet.import_key_set(jwks)
    for name, token_use in (("AccessToken", "access"), ("IdToken", "id")):
        decoded = jwt.decode(tokens[name], keys)  # fails unless signed by a key of the JWKS
        expect(decoded.header.get("kid") in kids,
               f"{name}: kid {decoded.header.get('kid')} is not in the JWKS ({sorted(kids)})")
        claims = decoded.claims
        expect(claims.get("iss") == env["STACK_CONSOLE_ISSUER"],
               f"{name}: iss {claims.get('iss')} is not {env['STACK_CONSOLE_ISSUER']}")
        expect(claims.get("token_use") == token_use, f"{name}: token_use {claims.get('token_use')}")
        client = claims.get("client_id") or claims.get("aud")
        expect(client == env["STACK_CONSOLE_USER_POOL_CLIENT_ID"], f"{name}: client {client}")
        expect(claims.get("exp", 0) > time.time(), f"{name}: already expired")
    say(f"tokens verify against {len(kids)} JWKS key(s); iss {env['STACK_CONSOLE_ISSUER']}")


def check_sign_out(cognito, tokens, env):
    client_id = env["STACK_CONSOLE_USER_POOL_CLIENT_ID"]
    refresh = {"REFRESH_TOKEN": tokens["RefreshToken"]}
    # Accepted before: the refusal below is the sign-out's doing.
    cognito.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters=refresh)
    cognito.global_sign_out(AccessToken=tokens["AccessToken"])
    try:
        cognito.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                              AuthParameters=refresh)
    except ClientError as refused:
        code = refused.response["Error"]["Code"]
        expect(code == "NotAuthorizedException", f"refresh after sign-out: {code}")
        say("after GlobalSignOut the refresh token is refused (NotAuthorizedException)")
        return
    raise CheckFailed("the refresh token still works after GlobalSignOut")


def check_uploads(s3, env):
    endpoint = env["AWS_ENDPOINT_URL"]
    bucket = env["STACK_VIDEO_BUCKET_NAME"]
    origin = console_origin(env)
    key = f"{CHECK_PREFIX}{env.get('LOCAL_STACK_RUN', 'run')}-{secrets.token_hex(4)}.bin"

    status, headers = http("OPTIONS", f"{endpoint}/{bucket}/{key}", {
        "Origin": origin, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type"})
    expect(status == 200, f"CORS preflight from {origin}: HTTP {status}")
    expect(headers.get("Access-Control-Allow-Origin") == origin,
           f"preflight allows origin {headers.get('Access-Control-Allow-Origin')!r}, not {origin}")
    expect("ETag" in (headers.get("Access-Control-Expose-Headers") or ""),
           f"preflight exposes {headers.get('Access-Control-Expose-Headers')!r}, not ETag")

    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    try:
        url = s3.generate_presigned_url("upload_part", ExpiresIn=300, Params={
            "Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": 1})
        status, headers = http("PUT", url, {"Origin": origin})
        expect(status == 200, f"presigned UploadPart: HTTP {status}")
        expect(headers.get("ETag"), "presigned UploadPart: no ETag")
        expect("ETag" in (headers.get("Access-Control-Expose-Headers") or ""),
               f"UploadPart exposes {headers.get('Access-Control-Expose-Headers')!r}, not ETag")
        # The launcher's exception is for presigned requests only: unsigned ones still fail.
        status, _ = http("PUT", f"{endpoint}/{bucket}/{key}", {"Origin": origin})
        expect(status >= 400, f"an unsigned PUT without a signature was accepted (HTTP {status})")
    finally:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    say(f"from {origin}: preflight 200 and presigned UploadPart 200, ETag exposed; "
        f"unsigned PUT refused")


def main(env=os.environ):
    if not env.get("STACK_CONSOLE_USER_POOL_ID"):
        say("the stack has no console (LOCAL_STACK_CONSOLE=0): nothing to check")
        return 0
    start = time.monotonic()
    session = boto3.session.Session(region_name=env["AWS_REGION"])
    cognito = session.client("cognito-idp")
    # SigV4 query signatures (X-Amz-Signature), as the console's Rust SDK presigns; boto3's
    # default for presigned S3 URLs is the older form.
    s3 = session.client("s3", config=Config(signature_version="s3v4"))
    try:
        tokens = sign_in(cognito, env)
        say(f"{env['LOCAL_CONSOLE_ADMIN_EMAIL']} signed in and set a new password")
        check_tokens(tokens, env)
        check_sign_out(cognito, tokens, env)
        check_uploads(s3, env)
    except (CheckFailed, ClientError, urllib.error.URLError) as failed:
        say(f"FAILED: {failed}")
        return 1
    finally:
        # The env file's temporary password works again (for a person, or a second run).
        cognito.admin_set_user_password(
            UserPoolId=env["STACK_CONSOLE_USER_POOL_ID"],
            Username=env["LOCAL_CONSOLE_ADMIN_EMAIL"],
            Password=env["LOCAL_CONSOLE_ADMIN_TEMPORARY_PASSWORD"], Permanent=False)
    say(f"all console checks passed in {time.monotonic() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
