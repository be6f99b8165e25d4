"""
The dashboard: served as static files with a strict CSP and no key (it
holds no data); then in a real headless Chromium (Debian's C{chromium},
driven over the DevTools protocol) against a proxy that has relayed,
blocked, monitored, rate-limited and failed traffic and holds a pending
tool-definition change: the key is entered, the charts, tables and lists
show the traffic's figures, the page makes no request outside the proxy's
origin and no script or CSP error, and a screenshot is saved
(C{dashboard.png} in the test's working directory, under C{_trial_temp};
C{$AKTO_DASHBOARD_SCREENSHOT} names another path).
"""

from __future__ import annotations

import json
import os
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.trial.unittest import TestCase

from tests.harness import KEY, ProxyHarness, Upstream, request
from tests.web.cdp import Chromium, findChromium
from tests.web.fixtures import ADMIN_KEY, BASE, pendingChange, traffic

reactor: Any = _reactor

CHROMIUM = findChromium()

#: the page's figures, read from the DOM
READ = r"""
(() => {
  const kpi = (id) => Number(document.getElementById(id).dataset.value);
  const sums = (id) => { const svg = document.querySelector('#' + id + ' svg'); return svg ? JSON.parse(svg.getAttribute('data-sums')) : null; };
  const marks = (id) => { const svg = document.querySelector('#' + id + ' svg'); return svg ? Number(svg.getAttribute('data-marks')) : 0; };
  const bars = (id) => [...document.querySelectorAll('#' + id + ' .bar-row')].map(r => [r.dataset.name, Number(r.dataset.count)]);
  const rows = (id) => [...document.querySelectorAll('#' + id + ' tbody tr')].map(tr => [...tr.children].map(td => td.textContent));
  return {
    state: document.body.dataset.state,
    kpis: {requests: kpi('kpi-requests'), blocked: kpi('kpi-blocked'), threats: kpi('kpi-threats'), errors: kpi('kpi-errors'), rate_limited: kpi('kpi-ratelimited'), p99: kpi('kpi-latency')},
    kpiText: document.getElementById('kpi-requests').querySelector('.value').textContent,
    volume: sums('chart-volume'), volumeMarks: marks('chart-volume'),
    latencyMarks: marks('chart-latency'), errors: sums('chart-errors'),
    byCheck: bars('threats-by-check'),
    refusedTools: bars('refused-tools'), refusedKeys: bars('refused-keys'), refusedUpstreams: bars('refused-upstreams'),
    blocked: rows('blocked-table'), would: rows('would-table'),
    rules: [...document.querySelectorAll('#rules-table tbody tr')].map(tr => [tr.dataset.check, tr.dataset.rule, ...[...tr.children].slice(1).map(td => td.textContent)]),
    pins: [...document.querySelectorAll('#pins-list .pin')].map(p => p.querySelector('.title').textContent),
    errorsFoot: document.getElementById('errors-foot').textContent,
    loginError: document.getElementById('login-error').textContent,
    boardHidden: document.getElementById('board').hidden,
  };
})()
"""

#: enter the key, resolve with the number of refreshes once one is drawn
SIGN_IN = """
new Promise((resolve) => {
  document.addEventListener('akto:rendered', (e) => resolve(e.detail), {once: true});
  document.getElementById('key').value = %s;
  document.getElementById('login-form').requestSubmit();
})
"""

#: pick a time range, resolve once it is drawn
SWITCH = """
((range) => new Promise((resolve) => {
  const drawn = (e) => {
    if (document.body.dataset.range !== range) return;
    document.removeEventListener('akto:rendered', drawn);
    resolve(e.detail);
  };
  document.addEventListener('akto:rendered', drawn);
  document.querySelector('.range button[data-range="' + range + '"]').click();
}))(%s)
"""

#: resolve once a refresh is drawn (now or next)
DRAWN = """
new Promise((resolve) => {
  if (Number(document.body.dataset.refreshes || 0) > 0) resolve(Number(document.body.dataset.refreshes));
  else document.addEventListener('akto:rendered', (e) => resolve(e.detail), {once: true});
})
"""


class DashboardFilesTests(TestCase):
    """
    The page's files over HTTP: no key needed (no data in them), a strict
    CSP, nothing but the page's own files.
    """

    def test_files(self) -> Deferred[None]:
        async def go() -> None:
            proxy = ProxyHarness(self, base=BASE)
            for path, kind in (("/dashboard", b"text/html"), ("/dashboard/", b"text/html"), ("/dashboard/app.js", b"text/javascript"), ("/dashboard/app.css", b"text/css"), ("/dashboard/favicon.svg", b"image/svg+xml")):
                r, body = await request(f"{proxy.base}{path}".encode(), key=None)
                self.assertEqual(r.code, 200, path)
                self.assertTrue(r.headers.getRawHeaders(b"content-type")[0].startswith(kind), path)
                csp = r.headers.getRawHeaders(b"content-security-policy")[0]
                self.assertIn(b"default-src 'self'", csp)
                self.assertIn(b"script-src 'self'", csp)
                self.assertIn(b"frame-ancestors 'none'", csp)
                self.assertEqual(r.headers.getRawHeaders(b"x-content-type-options"), [b"nosniff"])
                self.assertTrue(body)
            r, html = await request(f"{proxy.base}/dashboard".encode(), key=None)
            # no inline script or style, nothing from another origin
            self.assertNotIn(b"<script>", html)
            self.assertNotIn(b"style=", html)
            self.assertNotIn(b"http://", html.replace(b'xmlns="http://www.w3.org/2000/svg"', b""))
            self.assertNotIn(b"https://", html)
            for path in ("/dashboard/secret.txt", "/dashboard/../service.py", "/dashboard/a/b"):
                r, _ = await request(f"{proxy.base}{path}".encode(), key=None)
                self.assertEqual(r.code, 404, path)
            r, _ = await request(f"{proxy.base}/dashboard".encode(), b"POST", key=None)
            self.assertEqual(r.code, 405)

        return ensureDeferred(go())


class BrowserTests(TestCase):
    if CHROMIUM is None:
        skip = "no chromium on this machine (Debian: apt-get install chromium; scripts/test installs it as root)"

    timeout = 120

    def setUp(self) -> Deferred[None]:
        self.upstream = Upstream()
        self.addCleanup(self.upstream.stop)
        return self.upstream.start().addCallback(lambda _: None)

    async def browser(self) -> Chromium:
        assert CHROMIUM is not None
        browser = Chromium(reactor, CHROMIUM, os.path.abspath(self.mktemp()))
        self.addCleanup(lambda: ensureDeferred(browser.close()))
        await browser.start()
        await browser.openPage()
        return browser

    async def signIn(self, browser: Chromium, key: str) -> Any:
        d = Deferred.fromCoroutine(browser.evaluate(SIGN_IN % json.dumps(key), awaitPromise=True))
        d.addTimeout(60, reactor)
        return await d

    def test_dashboard(self) -> Deferred[None]:
        async def go() -> None:
            proxy = ProxyHarness(self, base=BASE)
            await traffic(proxy, self.upstream)
            await pendingChange(proxy, self.upstream)
            browser = await self.browser()
            await browser.navigate(f"{proxy.base}/dashboard")
            page = await browser.evaluate(READ)
            self.assertEqual(page["state"], "signed-out")
            self.assertTrue(page["boardHidden"])
            self.assertGreaterEqual(await self.signIn(browser, ADMIN_KEY), 1)
            page = await browser.evaluate(READ)
            self.assertEqual(page["state"], "ready")
            self.assertFalse(page["boardHidden"])
            # traffic(): 11 requests, 1 blocked, 2 rate limited, 1 upstream 500; pendingChange(): 2
            # tools/list, the second with the changed tool withheld (its exchange counts as blocked)
            self.assertEqual(page["kpis"], {"requests": 13, "blocked": 2, "threats": 4, "errors": 1, "rate_limited": 2, "p99": page["kpis"]["p99"]}, json.dumps(page))
            self.assertEqual(page["kpiText"], "13")
            self.assertGreater(page["kpis"]["p99"], 0)
            self.assertEqual(page["volume"], {"relayed": 8, "blocked": 2, "rate_limited": 2, "errors": 1})
            self.assertEqual(page["volumeMarks"] >= 4 and page["latencyMarks"] >= 1, True)
            self.assertAlmostEqual(sum(page["errors"].values()), 3 / 13)
            self.assertIn("rate limited 2", page["errorsFoot"])
            # threats: 2 SQL injection rules (monitored), the custom rule, the changed tool
            self.assertEqual(page["byCheck"], [["sql_injection", 2], ["custom_rules", 1], ["tool_pinning", 1]])
            self.assertEqual(page["refusedKeys"], [["tester", 3], ["other", 1]])
            self.assertEqual(page["refusedTools"], [["(no tool)", 3], ["send_note", 1]])
            # the latest blocked requests: newest first, with their reason
            self.assertEqual([row[1] for row in page["blocked"]], ["blocked", "rate limited", "rate limited", "blocked"])
            self.assertEqual(page["blocked"][0][2:4], ["other", "tools/list"])
            self.assertIn("tool_pinning (definition_changed)", page["blocked"][0][5])
            self.assertEqual(page["blocked"][3][2:4], ["tester", "send_note"])
            self.assertIn("No Launch Codes", page["blocked"][3][5])
            self.assertIn("rate limit exceeded (Rate Limiting)", page["blocked"][1][5])
            rules = {(r[0], r[1]): r[2:] for r in page["rules"]}
            # mode, fired, blocked, would block, top tool
            self.assertEqual(rules[("sql_injection", "libinjection")], ["monitor", "1", "0", "1", "query"])
            self.assertEqual(rules[("sql_injection", "union_based")], ["monitor", "1", "0", "1", "query"])
            self.assertEqual(rules[("custom_rules", "No Launch Codes")], ["enforce", "1", "1", "0", "send_note"])
            self.assertEqual(rules[("tool_pinning", "definition_changed")], ["enforce", "1", "1", "0", "(no tool)"])
            self.assertEqual(rules[("custom_rules", "Never Fires")], ["enforce", "0", "0", "0", "–"])
            self.assertEqual([r[1:] for r in page["would"]], [["sql_injection (libinjection, union_based)", "query", "params.arguments.q", "tester"]])
            self.assertEqual(len(page["pins"]), 1)
            self.assertIn("tool weather", page["pins"][0])
            # the day at 1 min buckets shows the same traffic
            d = Deferred.fromCoroutine(browser.evaluate(SWITCH % json.dumps("24h"), awaitPromise=True))
            d.addTimeout(60, reactor)
            await d
            day = await browser.evaluate(READ)
            self.assertEqual(day["volume"], page["volume"])
            self.assertEqual(day["kpis"]["requests"], 13)
            # nothing but the proxy's own origin was asked for, no script or CSP error
            urls = browser.requestedURLs()
            self.assertTrue(urls)
            outside = [u for u in urls if not u.startswith(proxy.base + "/")]
            self.assertEqual(outside, [])
            self.assertIn(f"{proxy.base}/api/stats?series=1h", urls)
            self.assertIn(f"{proxy.base}/api/stats?series=24h", urls)
            self.assertEqual(browser.problems(), [])
            # the key stays in this tab: a reload draws again without asking
            loaded = browser.wait("Page.loadEventFired")
            await browser.send("Page.reload")
            await loaded
            d = Deferred.fromCoroutine(browser.evaluate(DRAWN, awaitPromise=True))
            d.addTimeout(60, reactor)
            await d
            self.assertEqual((await browser.evaluate(READ))["kpis"]["requests"], 13)
            path = os.environ.get("AKTO_DASHBOARD_SCREENSHOT") or os.path.abspath("dashboard.png")
            await browser.screenshot(path)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

        return ensureDeferred(go())

    def test_keyRefused(self) -> Deferred[None]:
        """
        A key that is not an admin's is refused in the page, and nothing is
        shown.
        """

        async def go() -> None:
            proxy = ProxyHarness(self, base=BASE)
            browser = await self.browser()
            await browser.navigate(f"{proxy.base}/dashboard")
            done = browser.wait("Network.loadingFinished")
            await browser.evaluate(
                "document.getElementById('key').value = %s; document.getElementById('login-form').requestSubmit(); true" % json.dumps(KEY)
            )
            await done
            d = Deferred.fromCoroutine(
                browser.evaluate(
                    "new Promise((resolve) => { const e = document.getElementById('login-error');"
                    " if (e.textContent) resolve(e.textContent);"
                    " else new MutationObserver((_, o) => { o.disconnect(); resolve(e.textContent); }).observe(e, {childList: true, characterData: true, subtree: true}); })",
                    awaitPromise=True,
                )
            )
            d.addTimeout(60, reactor)
            message = await d
            self.assertIn("not admin", message)
            page = await browser.evaluate(READ)
            self.assertEqual(page["state"], "signed-out")
            self.assertTrue(page["boardHidden"])

        return ensureDeferred(go())
