"""The demo's steps, run inside the local stack by scripts/demo (read that script first).

Usage (scripts/demo does this):
    scripts/local-stack run -- <moto venv python> tests/local-stack/demo.py [FILE] [-- POST OPTIONS...]

Steps, each timed:
1. connect a TikTok account the way a browser would: POST /accounts/connect-link (posts-api),
   then follow the link with a cookie jar, redirect by redirect: oauth-start (302 to TikTok's
   authorize page, sets the binding cookie) -> TikTok's authorize endpoint (302 back to the
   redirect URI with a code) -> oauth-callback (checks state and cookie, exchanges the code,
   stores the tokens). No control API of any fake is called, so the same steps work against
   an outside TikTok stand-in; the request does not accept text/html, so an authorize endpoint
   that shows a consent page to browsers approves at once (the project's fake does).
2. make a short real MP4 with ffmpeg (3 s, 720x1280, H.264 + AAC, yuv420p), unless FILE is given.
3. post it with the CLI (target/debug/tiktok-publish post FILE --account=OPEN_ID --privacy
   PUBLIC_TO_EVERYONE --yes, plus the options after `--`; TikTok gives a post id to public
   posts only): it uploads to S3, creates the post and follows it with its progress (a bar on
   a terminal, a line per change otherwise).
4. write the outcome (DEMO_RESULT_FILE, one line) for scripts/demo to print last.

Exit status 0 only when the post reached TikTok (PUBLISHED, or SENT_TO_INBOX for --draft).
"""

import html
import http.cookiejar
import ipaddress
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.parse import urljoin, urlsplit

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_REDIRECTS = 10
DEFAULT_PRIVACY = "PUBLIC_TO_EVERYONE"
HTTP_TIMEOUT = 60
# What the CLI prints in its final report (cli/src/main.rs, post_report).
REPORT_LINE = re.compile(r"^(post|state|publish id|TikTok post id|failed|what to do)\s+(.*)$")


class DemoFailed(Exception):
    """A step failed; the message says which and what to do."""


def say(message):
    print(f"demo: {message}", flush=True)


class Step:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.start = time.monotonic()
        say(f"==> {self.name}")

    def __exit__(self, kind, *_):
        outcome = "failed after" if kind else "done in"
        say(f"<== {self.name}: {outcome} {time.monotonic() - self.start:.1f}s")


def without_query(url):
    """A URL fit to print: the query (state, code, link token) is secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?..." if parts.query else "")


class BrowserCookiePolicy(http.cookiejar.DefaultCookiePolicy):
    """Browsers treat http://localhost and loopback addresses as secure origins and send
    `Secure` cookies there (the local API is plain HTTP on 127.0.0.1; oauth-start's binding
    cookie is `Secure`). Python's default policy would drop them for any http:// URL."""

    def return_ok_secure(self, cookie, request):
        host = urlsplit(request.get_full_url()).hostname or ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        return loopback or super().return_ok_secure(cookie, request)


class Browser:
    """Follows nothing by itself and keeps cookies as a browser does: each answer's
    `Set-Cookie` into the jar, the jar's matching cookies into each request. (A
    `requests.Session` copies its cookies into a jar with the default policy on every request,
    which would lose BrowserCookiePolicy: hence the jar is kept here.)"""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar(BrowserCookiePolicy())
        self.http = requests.Session()
        # Not text/html: an authorize endpoint answering browsers with a consent page approves
        # a client that does not ask for HTML at once (see the module's docstring).
        self.http.headers.update({"Accept": "application/json, */*;q=0.5",
                                  "User-Agent": "tiktok-publish-demo"})

    def request(self, method, url, **kwargs):
        self.http.cookies.clear()
        prepared = self.http.prepare_request(requests.Request(method, url, **kwargs))
        cookie = requests.cookies.get_cookie_header(self.jar, prepared)
        if cookie:
            prepared.headers["Cookie"] = cookie
        answer = self.http.send(prepared, allow_redirects=False, timeout=HTTP_TIMEOUT)
        requests.cookies.extract_cookies_to_jar(self.jar, prepared, answer.raw)
        return answer

    def get(self, url):
        return self.request("GET", url)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)


def connect(api):
    """Connects an account through the real handlers; returns its open_id."""
    browser = Browser()

    answer = browser.post(f"{api}/accounts/connect-link", json={})
    if answer.status_code != 201:
        raise DemoFailed(f"POST /accounts/connect-link answered HTTP {answer.status_code}: "
                         f"{answer.text[:300]}; see {log_path('fn-posts-api.log')}")
    try:
        url = answer.json()["url"]
    except (ValueError, KeyError, TypeError) as e:
        raise DemoFailed(f"POST /accounts/connect-link gave no link ({e}): {answer.text[:300]}")
    say(f"connect link {without_query(url)} (posts-api)")

    for hop in range(1, MAX_REDIRECTS + 1):
        answer = browser.get(url)
        location = answer.headers.get("location")
        cookies = len(answer.raw.headers.getlist("set-cookie"))
        say(f"  {hop}. GET {without_query(url)} -> HTTP {answer.status_code}"
            + (f", to {without_query(urljoin(url, location))}" if location else "")
            + (f", sets {cookies} cookie(s)" if cookies else ""))
        if answer.status_code in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        break
    else:
        raise DemoFailed(f"more than {MAX_REDIRECTS} redirects from the connect link")

    if answer.status_code != 200:
        raise DemoFailed(f"the connect flow ended at {without_query(url)} with HTTP "
                         f"{answer.status_code}: {strip_html(answer.text)[:400]}; see the "
                         f"oauth-start/oauth-callback logs {log_path('fn-oauth-*.log')}")
    if "text/html" in answer.headers.get("content-type", "") and "<form" in answer.text \
            and "/oauth/callback" not in without_query(url):
        raise DemoFailed(f"{without_query(url)} shows a consent page to approve by hand: this "
                         "TikTok does not approve a client that does not ask for HTML; connect "
                         "with `tiktok-publish connect` in a browser instead")
    found = re.search(r"open_id <code>([^<]+)</code>", answer.text)
    if not found:
        raise DemoFailed(f"the connect flow ended at {without_query(url)} without connecting an "
                         f"account: {strip_html(answer.text)[:400]}")
    open_id = html.unescape(found.group(1))

    accounts = browser.get(f"{api}/accounts")
    listed = accounts.json().get("accounts", []) if accounts.status_code == 200 else []
    if not any(a.get("open_id") == open_id for a in listed):
        raise DemoFailed(f"the callback page says {open_id} is connected but GET /accounts "
                         f"(HTTP {accounts.status_code}) does not list it: {accounts.text[:300]}")
    return open_id


def log_path(name):
    return os.path.join(os.environ.get("LOCAL_STACK_DIR", ".local/stack/latest"), "logs", name)


def strip_html(text):
    """A page's words, to quote in an error (styles and scripts left out)."""
    text = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", text, flags=re.S | re.I)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip())


def make_video(path):
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        raise DemoFailed("ffmpeg is not on PATH: scripts/demo installs it (apt-get install ffmpeg), "
                         "or pass a video file of your own")
    command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
               "-f", "lavfi", "-i", "testsrc2=duration=3:size=720x1280:rate=30",
               "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
               "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-b:a", "96k", "-shortest", "-movflags", "+faststart", path]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not os.path.getsize(path):
        raise DemoFailed(f"ffmpeg failed (exit {done.returncode}): {done.stderr.strip()[-600:]}")
    return "3 s, 720x1280, 30 fps, H.264 + AAC, yuv420p"


def cli(*args):
    return [os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                         "debug", "tiktok-publish"),
            "--env-file", os.environ["LOCAL_STACK_ENV"], *args]


def post(video, open_id, extra):
    """Runs `tiktok-publish post`; its progress (stderr) goes straight to the terminal, its
    report (stdout) is echoed and read. Returns (exit status, report fields)."""
    flags = list(extra)
    # TikTok gives a post id only to public posts (`publicaly_available_post_id`), so the demo
    # posts publicly unless told otherwise; a draft takes no privacy level, and a level given
    # after `--` wins (an unaudited app at the real TikTok may only post SELF_ONLY).
    if not any(f in ("--privacy", "--draft") or f.startswith("--privacy=") for f in flags):
        flags += ["--privacy", DEFAULT_PRIVACY]
    if "--yes" not in flags:
        flags.append("--yes")
    # `--account=ID`: open_ids may begin with "-", which clap would take for a flag.
    command = cli("post", video, f"--account={open_id}", *flags)
    say("$ " + shlex.join(["tiktok-publish", "post", video, f"--account={open_id}", *flags]))
    report = {}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                          text=True, bufsize=1) as child:
        for line in child.stdout:
            print(line, end="", flush=True)
            found = REPORT_LINE.match(line.rstrip("\n"))
            if found:
                report[found.group(1)] = found.group(2).strip()
    return child.returncode, report


def split_args(argv):
    """[FILE] [-- OPTIONS...]"""
    if "--" in argv:
        at = argv.index("--")
        own, extra = argv[:at], argv[at + 1:]
    else:
        own, extra = argv, []
    if len(own) > 1:
        raise DemoFailed(f"one video file at most, got {own}; options for `tiktok-publish post` "
                         "go after `--`")
    return (own[0] if own else None), extra


def outcome_line(status, report):
    state = report.get("state", "").split(" ")[0]
    if status == 0 and report.get("TikTok post id"):
        return 0, (f"TikTok post id: {report['TikTok post id']} ({state}; publish id "
                   f"{report.get('publish id', '-')}, post {report.get('post')})")
    if status == 0 and state == "SENT_TO_INBOX":
        return 0, (f"sent to the creator's TikTok inbox as a draft (publish id "
                   f"{report.get('publish id', '-')}, post {report.get('post')}): no post id "
                   "until the creator posts it in the app")
    if status == 0 and state == "PUBLISHED":
        return 0, (f"published, but TikTok gave no post id: it gives one only to public posts, "
                   f"once moderated (publish id {report.get('publish id', '-')}, post "
                   f"{report.get('post')})")
    if status == 0:
        return 1, (f"post {report.get('post', '?')} ended {state or 'in an unknown state'} "
                   "without a TikTok post id")
    why = report.get("failed") or f"tiktok-publish post exited with status {status} (its error is above)"
    advice = report.get("what to do")
    return 1, f"FAILED: {why}" + (f"; {advice}" if advice else "")


def main():
    result_file = os.environ.get("DEMO_RESULT_FILE")

    def finish(code, line):
        if result_file:
            with open(result_file, "w") as f:
                f.write(line + "\n")
        say(line)
        return code

    try:
        video, extra = split_args(sys.argv[1:])
        api = os.environ["LOCAL_API_URL"]
        tiktok = os.environ.get("FAKE_TIKTOK_URL") or os.environ.get("TIKTOK_API_BASE_URL", "?")
        kind = "the project's fake" if os.environ.get("FAKE_TIKTOK_URL") else "an outside stand-in"
        say(f"local API {api}; TikTok at {tiktok} ({kind})")

        with Step("connect a TikTok account (posts-api, oauth-start, TikTok authorize, oauth-callback)"):
            open_id = connect(api)
            say(f"connected account {open_id}:")
            subprocess.run(cli("accounts"), check=False, stdin=subprocess.DEVNULL)

        with tempfile.TemporaryDirectory(prefix="tiktok-demo-") as tmp:
            if video is None:
                run = os.environ.get("LOCAL_STACK_RUN", str(int(time.time())))
                video = os.path.join(tmp, f"demo-{run}.mp4")
                with Step("make a video with ffmpeg"):
                    made = make_video(video)
                    say(f"{video}: {os.path.getsize(video)} bytes ({made})")
            elif not os.path.isfile(video):
                raise DemoFailed(f"{video} is not a file: pass the path of a video")
            else:
                say(f"your video {video}: {os.path.getsize(video)} bytes")

            with Step("post it: upload to S3, POST /posts, follow it to TikTok"):
                status, report = post(video, open_id, extra)
        code, line = outcome_line(status, report)
        return finish(code, line)
    except DemoFailed as e:
        return finish(1, f"FAILED: {e}")
    except KeyboardInterrupt:
        return finish(130, "interrupted: nothing more was sent (a post already created goes on "
                           "in the stack until it stops)")
    except (requests.RequestException, OSError, KeyError, ValueError) as e:
        return finish(1, f"FAILED: {type(e).__name__}: {e}; is the local stack still up? "
                         f"(its logs: {log_path('')})")


if __name__ == "__main__":
    sys.exit(main())
