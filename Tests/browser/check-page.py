#!/usr/bin/env python3
"""Drives the agent's status page in headless Chromium over the DevTools protocol.

Talks to Chromium through --remote-debugging-pipe (file descriptors 3 and 4), so it needs
nothing beyond the Python standard library and Debian's `chromium` package.

  check-page.py --url URL [--password PW] --artifacts DIR
                [--resolve CONFLICT_ID [--choice keep-mine|accept-theirs]] [--expect-text TEXT ...]
                [--stop-pid PID]

With --resolve it waits for the conflict, checks that every --expect-text shows literally and
that no markup from the data ran, clicks the button like a finger would, and waits for the
conflict to go. With --stop-pid it stops that process (the agent) and waits for the page to say
the API is unreachable. Screenshots go to --artifacts. Prints one JSON line; exits 1 on failure.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


class Failure(Exception):
    pass


class Chromium:
    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="egglogu-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        args = [binary, "--headless", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
                "--no-default-browser-check", "--user-data-dir=" + self.profile, "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run its sandbox as root (CI runs as root)
        self.process = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=wire,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.session = None
        self.events = []

    def call(self, method, params=None, session=True, timeout=20):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise Failure("%s failed: %s" % (method, reply["error"].get("message")))
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def _read(self, deadline):
        while b"\0" not in self._buffer:
            if time.time() > deadline:
                raise Failure("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise Failure("Chromium exited")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise Failure("script failed: %s" % result["exceptionDetails"].get("text"))
        return result["result"].get("value")

    def wait_for(self, expression, what, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise Failure("timed out waiting for " + what)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def viewport(self, width, height, mobile):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1, "mobile": mobile})

    def tap(self, selector):
        """Scrolls the element into view and presses the mouse at its centre."""
        box = self.evaluate(
            "(() => { const e = document.querySelector(%s); if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()"
            % json.dumps(selector))
        if not box:
            raise Failure("nothing to tap at " + selector)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent",
                      {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1})

    def problems(self):
        """Console errors, uncaught exceptions and CSP violations seen so far."""
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append("exception: " + params["exceptionDetails"].get("text", "?"))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append("log: " + params["entry"].get("text", "?"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append("console: " + " ".join(str(a.get("value", "")) for a in params.get("args", [])))
        return found

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def run(args):
    os.makedirs(args.artifacts, exist_ok=True)
    binary = shutil.which(args.chromium) or args.chromium
    browser = Chromium(binary)
    report = {"screenshots": []}
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        browser.session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(domain + ".enable")
        if args.password is not None:
            credentials = base64.b64encode(("farmer:" + args.password).encode()).decode()
            browser.call("Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Basic " + credentials}})
        browser.viewport(390, 844, True)
        browser.call("Page.navigate", {"url": args.url})
        browser.wait_for("document.querySelector('#refreshed') && /\\d/.test(document.querySelector('#refreshed').textContent)",
                         "the first refresh")
        report["mode"] = browser.evaluate("document.querySelector('#mode').textContent.trim()")
        report["badge"] = browser.evaluate("document.querySelector('#conflict-badge').textContent.trim()")

        if args.resolve:
            article = 'article.conflict[data-conflict-id="%s"]' % args.resolve
            browser.wait_for("!!document.querySelector(%s)" % json.dumps(article), "conflict " + args.resolve)
            page_text = browser.evaluate("document.body.innerText")
            for text in args.expect_text:
                if text not in page_text:
                    raise Failure("the page does not show %r literally" % text)
            if browser.evaluate("window.__pwned !== undefined"):
                raise Failure("markup from a record ran in the page")
            scripts = browser.evaluate("Array.from(document.scripts).map(s => s.src)")
            if len(scripts) != 1:
                raise Failure("the page holds scripts besides app.js: %s" % scripts)
            if browser.evaluate("document.querySelectorAll('main img, main script').length"):
                raise Failure("markup from a record became elements")
            report["screenshots"].append(browser.screenshot(os.path.join(args.artifacts, "conflict-phone.png")))
            browser.tap(article + ' button[data-action="%s"]' % args.choice)
            browser.wait_for("!document.querySelector(%s)" % json.dumps(article), "the conflict to be resolved")
            report["notice"] = browser.wait_for(
                "(document.querySelector('#notice') || {}).textContent || ''", "the confirmation")
            report["badgeAfter"] = browser.evaluate("document.querySelector('#conflict-badge').textContent.trim()")
            report["screenshots"].append(browser.screenshot(os.path.join(args.artifacts, "resolved-phone.png")))
            browser.viewport(1280, 900, False)
            report["screenshots"].append(browser.screenshot(os.path.join(args.artifacts, "resolved-desktop.png")))
            browser.viewport(390, 844, True)

        if args.stop_pid:
            problems_before = browser.problems()
            os.kill(args.stop_pid, signal.SIGTERM)
            report["banner"] = browser.wait_for(
                "(() => { const b = document.querySelector('#api-error');"
                " return b && !b.hidden && b.offsetParent !== null ? b.textContent.trim() : ''; })()",
                "the page to say the API is unreachable")
            report["screenshots"].append(browser.screenshot(os.path.join(args.artifacts, "unreachable-phone.png")))
            report["problems"] = problems_before  # failed fetches after the stop are expected
        else:
            report["problems"] = browser.problems()
        if report["problems"]:
            raise Failure("the page logged errors: %s" % report["problems"])
        report["ok"] = True
    except Failure as failure:
        report["ok"] = False
        report["error"] = str(failure)
        try:
            report["screenshots"].append(browser.screenshot(os.path.join(args.artifacts, "failure.png")))
        except Exception:
            pass
    finally:
        browser.close()
    print(json.dumps(report))
    return 0 if report["ok"] else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--password")
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--resolve")
    parser.add_argument("--choice", default="keep-mine", choices=["keep-mine", "accept-theirs"])
    parser.add_argument("--expect-text", action="append", default=[])
    parser.add_argument("--stop-pid", type=int)
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
