"""
What a proxy process imports: the libraries of optional features are
imported when the feature is used, not by the daemon's start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from twisted.trial.unittest import TestCase

import akto_proxy

#: imported by start-up; each only when its feature is configured or used
OPTIONAL = {
    "txredisapi": "redis (access/redisconn.py)",
    "twisted.mail.smtp": "an email alert channel (observe/alerts.py)",
    "phonenumbers": "the first phone number judged (inspect/checks/validators.py)",
}

PROBE = """
import json, sys
from twisted.internet import reactor
import akto_proxy.tap, akto_proxy.service, akto_proxy.web.forward
from akto_proxy.config import loadConfig
from akto_proxy.service import ProxyService
svc = ProxyService(loadConfig(sys.argv[1]), reactor, sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


class StartupImportTests(TestCase):
    def test_optional_libraries_not_imported(self) -> None:
        """
        Building the service of the sample configuration (no Redis, no
        email channel) imports none of the optional libraries.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("listen: ['tcp:0:interface=127.0.0.1']\nmcp:\n  state_dir: %s\n" % json.dumps(self.mktemp()))
        # this checkout's package, whatever the working directory
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(akto_proxy.__file__))))
        out = subprocess.run([sys.executable, "-c", PROBE, path], capture_output=True, text=True, timeout=120, check=True, env=env)
        loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
        self.assertIn("akto_proxy.service", loaded)
        self.assertIn("hyperscan", loaded)
        self.assertEqual({m: why for m, why in OPTIONAL.items() if m in loaded}, {})

    def test_used_libraries_still_load(self) -> None:
        """
        The lazy paths import what they need: a phone number is judged,
        the Redis factories and the email sender's modules load.
        """
        from akto_proxy.access.redisconn import Factory, Subscription
        from akto_proxy.inspect.checks import validators

        self.assertTrue(validators._international("+44 20 7946 0958"))
        self.assertTrue(issubclass(Factory, sys.modules["txredisapi"].RedisFactory))
        self.assertTrue(issubclass(Subscription, sys.modules["txredisapi"].RedisFactory))
