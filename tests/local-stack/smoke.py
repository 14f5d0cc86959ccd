"""Smoke check of the local stack: one video from S3 to PUBLISHED at the fake TikTok.

Usage: scripts/local-stack smoke      (= scripts/local-stack run -- <moto venv python> smoke.py)

Steps, each timed:
0. with the console's sign-in (LOCAL_STACK_CONSOLE not 0), console_check.py: the local admin
   signs in through moto's Cognito, signs out, and the browser's upload requests pass
   (a second or so).
1. connect an account: a creator seeded at the fake (/__fake/accounts), then the real flow
   through the local API: POST /accounts/connect-link (posts-api), GET the link
   (oauth-start: 302 to the authorize page + binding cookie), the creator's consent stood in
   for by a code minted at the fake (/__fake/codes) for the state's redirect URI, then
   GET /oauth/callback (oauth-callback: state, cookie, code exchange, tokens stored).
   If any step of that flow fails, says why and seeds the accounts table directly instead
   (tokens from /__fake/tokens, the item shaped as shared/adapters/src/dynamo/accounts.rs
   writes it), so the rest can still be checked.
2. upload uploads/<open_id>/<name>.mp4.json (the options manifest) then the video (made by
   ffmpeg when it is on PATH, else tests/local-stack/fixtures/smoke.mp4).
3. wait until the post record (the posts table, index by_account) is final, printing each
   state it goes through; then ask the fake what it received and whether any rule of the
   API was broken (/__fake/violations).
Exit status 0 only when the console checks passed, the post is PUBLISHED and the fake saw no
violation.
"""

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.parse import parse_qs, urlencode, urlparse

import boto3

import console_check

HERE = os.path.dirname(os.path.abspath(__file__))
FINAL = {"PUBLISHED", "SENT_TO_INBOX", "REFUSED", "FAILED", "CANCELLED"}
SCOPES = ["user.info.basic", "video.publish", "video.upload"]
TIMEOUT = int(os.environ.get("LOCAL_STACK_SMOKE_TIMEOUT", "300"))

env = os.environ
api = env["LOCAL_API_URL"]
fake = env.get("FAKE_TIKTOK_URL", "")
aws = boto3.session.Session(region_name=env["AWS_REGION"])
dynamodb = aws.client("dynamodb")
s3 = aws.client("s3")


def say(message):
    print(f"smoke: {message}", flush=True)


class Step:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.start = time.monotonic()
        say(f"==> {self.name}")

    def __exit__(self, *exc):
        say(f"<== {self.name}: {time.monotonic() - self.start:.1f}s")


def call(method, url, body=None, headers=None):
    """One HTTP request, redirects not followed. Returns (status, headers, body bytes)."""
    parts = urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    all_headers = {"content-type": "application/json"} if isinstance(body, (dict, list)) else {}
    all_headers.update(headers or {})
    conn.request(method, path, body=data, headers=all_headers)
    response = conn.getresponse()
    return response.status, response.msg, response.read()


def fake_control(path, body=None):
    status, _, data = call("POST" if body is not None else "GET", fake + path, body)
    if status >= 300:
        raise RuntimeError(f"fake {path} answered {status}: {data[:200]!r}")
    return json.loads(data) if data else None


class FlowFailed(Exception):
    pass


def connect_through_api(open_id):
    status, _, data = call("POST", f"{api}/accounts/connect-link", {})
    if status != 201:
        raise FlowFailed(f"POST /accounts/connect-link answered {status}: {data[:300]!r}")
    link = json.loads(data)["url"]
    say(f"connect link {urlparse(link).path}?... (posts-api)")
    status, headers, data = call("GET", link)
    if status not in (302, 303):
        raise FlowFailed(f"GET /oauth/start answered {status}: {data[:300]!r}")
    authorize = headers["location"]
    cookies = [c.split(";", 1)[0] for c in headers.get_all("set-cookie") or []]
    query = parse_qs(urlparse(authorize).query)
    say(f"oauth-start -> {status} to {authorize.split('?')[0]} (scope {query['scope'][0]}), "
        f"{len(cookies)} cookie(s)")
    redirect_uri = query["redirect_uri"][0]
    scopes = query["scope"][0].split(",")
    # The creator logs in and consents at TikTok: the fake mints the code it would.
    code = fake_control("/__fake/codes", {"open_id": open_id, "scopes": scopes,
                                          "redirect_uri": redirect_uri})["code"]
    callback = f"{redirect_uri}?{urlencode({'code': code, 'scopes': ','.join(scopes), 'state': query['state'][0]})}"
    status, _, data = call("GET", callback, headers={"cookie": "; ".join(cookies)} if cookies else None)
    if status != 200:
        raise FlowFailed(f"GET /oauth/callback answered {status}: {data[:300]!r}")
    say(f"oauth-callback -> {status}")


def seed_account_table(open_id):
    tokens = fake_control("/__fake/tokens", {"open_id": open_id, "scopes": SCOPES})
    now = int(time.time())
    dynamodb.put_item(TableName=env["ACCOUNTS_TABLE"], Item={
        "open_id": {"S": open_id},
        "access_token": {"S": tokens["access_token"]},
        "access_expires_at": {"N": str(now + tokens["expires_in"])},
        "refresh_token": {"S": tokens["refresh_token"]},
        "refresh_expires_at": {"N": str(now + tokens["refresh_expires_in"])},
        "scopes": {"L": [{"S": s} for s in tokens["scope"].split(",")]},
        "nickname": {"S": "Smoke Creator"},
        "needs_reconnect": {"BOOL": False},
        "version": {"N": "1"},
        "connected_at": {"N": str(now)},
        "updated_at": {"N": str(now)},
    })


def make_video(path):
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        shutil.copyfile(os.path.join(HERE, "fixtures", "smoke.mp4"), path)
        return "fixtures/smoke.mp4 (no ffmpeg on PATH)"
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc=duration=3:size=360x640:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "40", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "32k", "-shortest", "-movflags", "+faststart", path],
                   check=True)
    return "ffmpeg testsrc, 3 s"


def post_of(open_id, key):
    answer = dynamodb.query(TableName=env["POSTS_TABLE"], IndexName="by_account",
                            KeyConditionExpression="open_id = :o",
                            ExpressionAttributeValues={":o": {"S": open_id}})
    for item in answer["Items"]:
        if item.get("key", {}).get("S") == key:
            return item
    return None


def text(item, name):
    value = item.get(name, {})
    return value.get("S") or value.get("N")


def tail(name, lines=15):
    path = os.path.join(env.get("LOCAL_STACK_DIR", ""), "logs", f"{name}.log")
    if os.path.exists(path):
        with open(path, errors="replace") as f:
            say(f"last lines of {name}.log:\n" + "".join(f.readlines()[-lines:]))


def main():
    if not fake:
        say("needs the fake TikTok's control API: run it without TIKTOK_API_BASE_URL/TIKTOK_AUTH_BASE_URL")
        return 2
    run = env.get("LOCAL_STACK_RUN", str(int(time.time())))

    with Step("console sign-in and browser upload path"):
        if console_check.main(env) != 0:
            return 1

    with Step("connect an account"):
        open_id = fake_control("/__fake/accounts", {"nickname": "Smoke Creator",
                                                    "username": "smoke.creator"})["open_id"]
        say(f"creator {open_id} seeded at the fake")
        try:
            connect_through_api(open_id)
            how = "connected through posts-api, oauth-start and oauth-callback"
        except (FlowFailed, KeyError, RuntimeError, OSError) as e:
            say(f"the connect flow did not work: {e}")
            seed_account_table(open_id)
            how = "seeded straight into the accounts table (fallback)"
        item = dynamodb.get_item(TableName=env["ACCOUNTS_TABLE"], Key={"open_id": {"S": open_id}},
                                 ConsistentRead=True).get("Item")
        if not item:
            say("no account item after connecting")
            return 1
        say(f"account {open_id}: {how}; scopes "
            f"{[s['S'] for s in item.get('scopes', {}).get('L', [])]}")
        # Tokens stored by the handlers are sealed with the stack's KMS key (SEALING_KEY_ARN).
        if how.startswith("connected") and env.get("SEALING_KEY_ARN"):
            unsealed = [name for name in ("access_token", "refresh_token")
                        if not item.get(name, {}).get("S", "").startswith("kms1:")]
            if unsealed:
                say(f"tokens stored unsealed: {unsealed}")
                return 1
            say("tokens are sealed with the stack's KMS key")

    # A space in the key: S3 events carry keys URL-encoded (the driver makes moto's so).
    key = f"{env['UPLOAD_PREFIX']}{open_id}/smoke clip {run}.mp4"
    with Step(f"upload s3://{env['VIDEO_BUCKET']}/{key} and its manifest"):
        manifest = {"privacy_level": "SELF_ONLY", "title": "hello"}
        s3.put_object(Bucket=env["VIDEO_BUCKET"], Key=f"{key}.json",
                      Body=json.dumps(manifest).encode(), ContentType="application/json")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "video.mp4")
            made = make_video(path)
            with open(path, "rb") as f:
                put = s3.put_object(Bucket=env["VIDEO_BUCKET"], Key=key, Body=f,
                                    ContentType="video/mp4")
            say(f"video {os.path.getsize(path)} bytes ({made}), version {put.get('VersionId')}; "
                f"manifest {json.dumps(manifest)}")

    with Step("wait for the post to be final"):
        deadline = time.monotonic() + TIMEOUT
        start = time.monotonic()
        seen, item = None, None
        while time.monotonic() < deadline:
            item = post_of(open_id, key)
            state = text(item, "state") if item else None
            if state != seen:
                detail = ""
                if item and text(item, "chunk_count"):
                    detail = f" (chunks {text(item, 'chunks_done') or 0}/{text(item, 'chunk_count')})"
                say(f"+{time.monotonic() - start:5.1f}s post {text(item, 'id') if item else '-'}: "
                    f"{state or 'no record yet'}{detail}")
                seen = state
            if state in FINAL:
                break
            time.sleep(0.5)

    if not item or text(item, "state") not in FINAL:
        say(f"gave up after {TIMEOUT}s: the post is {seen or 'not recorded'}")
        for name in ("driver", "watch"):
            tail(name)
        return 1
    state = text(item, "state")
    for name in ("failure_kind", "failure_reason", "failure_advice", "publish_id"):
        if text(item, name):
            say(f"{name}: {text(item, name)}")

    with Step("what the fake TikTok saw"):
        publish_id = text(item, "publish_id")
        if publish_id:
            say(f"publish {publish_id}: {json.dumps(fake_control(f'/__fake/publishes/{publish_id}'))[:400]}")
        violations = fake_control("/__fake/violations")
        say(f"violations: {json.dumps(violations)[:1000] if violations else 'none'}")

    if state != "PUBLISHED" or violations:
        for name in ("driver", "watch"):
            tail(name)
        say(f"FAILED: post {state}, {len(violations or [])} violation(s)")
        return 1
    say("OK: the video went from S3 to PUBLISHED at the fake TikTok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
