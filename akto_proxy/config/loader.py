"""
Load and validate the YAML configuration file into L{Config}.

Every error is a L{ConfigError} naming the file, line and dotted key.
"""

from __future__ import annotations

import hashlib
import os
from typing import Optional
from urllib.parse import urlsplit

import re2
import yaml

from akto_proxy.config.lint import globsMeet, operationProblem, patternProblem, upstreamProblem
from akto_proxy.config.model import (
    ACTIONS,
    CHECKS,
    MODES,
    SENSITIVITIES,
    ALERT_GROUP_FIELDS,
    ALERT_TYPES,
    CAPTURE_POLICIES,
    CHANNEL_NAMES,
    SYSLOG_FACILITIES,
    AccessControl,
    AdminConfig,
    Alert,
    ApiKey,
    AuditConfig,
    BreakerSettings,
    CacheConfig,
    Channels,
    CheckSettings,
    Config,
    ContentRule,
    CustomRule,
    Delivery,
    EmailChannel,
    Exclusion,
    Guardrail,
    Limits,
    Listener,
    McpConfig,
    MCP_CHECKS,
    Protection,
    SERVER_REQUEST_POLICIES,
    ServerRequestRule,
    ServerRequests,
    MetricsConfig,
    PiiRule,
    RateRule,
    REDIS_FEATURES,
    RedisConfig,
    Role,
    ServerTLS,
    SlackChannel,
    SyslogTarget,
    ThreatDetection,
    TLSConfig,
    UpstreamPolicy,
    UpstreamTLS,
    WebhookChannel,
)
from akto_proxy.config.reader import ConfigError, Reader

DEFAULT_PATH = "/etc/akto-proxy/akto-proxy.yaml"

TOP_LEVEL = (
    "listen",
    "public_url",
    "admin",
    "tls",
    "access_control",
    "upstreams",
    "threat_detection",
    "guardrails",
    "audit",
    "alerts",
    "channels",
    "cache",
    "redis",
    "limits",
    "metrics",
    "mcp",
)

SEVERITIES = ("low", "medium", "high", "critical")
PII_ENTITIES = ("email", "phone", "credit_card", "ssn", "iban", "ip_address")


def loadConfig(path: str) -> Config:
    """
    Read, parse and validate C{path}.

    @raise ConfigError: for a missing, unreadable or invalid file.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(path, None, "", f"cannot read file: {e.strerror}") from None
    return parseConfig(data, path)


def parseConfig(data: bytes | str, filename: str = "<config>") -> Config:
    try:
        node = yaml.compose(data, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(filename, line, "", f"YAML syntax error: {e.problem}") from None
    except yaml.YAMLError as e:
        raise ConfigError(filename, None, "", f"YAML error: {e}") from None
    if node is None:
        raise ConfigError(filename, 1, "", "the file is empty")
    root = Reader(filename, node, "")
    try:
        return _config(root, filename)
    except ConfigError:
        raise
    except RecursionError:
        raise ConfigError(filename, None, "", "document nested too deeply") from None


def _redisOnError(r: Reader) -> tuple[str, tuple[tuple[str, str], ...]]:
    """
    C{on_error: open | closed} for every feature, or a mapping: C{default}
    and any of L{REDIS_FEATURES}, each C{open} or C{closed}.
    """
    if not isinstance(r.node, yaml.MappingNode):
        return r.choice(("open", "closed")), ()
    om = r.mapping(("default",) + REDIS_FEATURES)
    default = om["default"].choice(("open", "closed")) if "default" in om else "open"
    return default, tuple((f, om[f].choice(("open", "closed"))) for f in REDIS_FEATURES if f in om)


def _regex(r: Reader) -> str:
    pattern = r.string()
    options = re2.Options()
    options.log_errors = False  # the message below says it; no C++ log on stderr
    try:
        re2.compile(pattern, options)
    except Exception as e:  # re2.error
        reason = e.args[0] if e.args else str(e)
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        r.fail(f"invalid pattern (RE2 syntax: no lookaround or backreferences): {reason}")
    problem = patternProblem(pattern)
    if problem is not None:
        r.warn(problem)
    return pattern


def _listener(r: Reader) -> Listener:
    if isinstance(r.node, yaml.MappingNode):
        m = r.mapping(("endpoint", "tls"), required=("endpoint",))
        ep = m["endpoint"].string()
        tls = m["tls"].boolean() if "tls" in m else False
        where = m["endpoint"]
    else:
        ep = r.string()
        tls = False
        where = r
    kind = ep.split(":", 1)[0]
    if kind not in ("tcp", "unix", "systemd", "tcp6"):
        if kind == "ssl":
            where.fail(
                "use {endpoint: 'tcp:PORT', tls: true} with tls.server set: "
                "ssl: endpoints allow TLS below 1.3"
            )
        where.fail(f"unsupported endpoint type {kind!r} (tcp, tcp6, unix, systemd)")
    return Listener(endpoint=ep, tls=tls)


def _listeners(r: Reader) -> tuple[Listener, ...]:
    if isinstance(r.node, yaml.ScalarNode) and not r.isNull():
        return (_listener(r),)
    items = tuple(_listener(x) for x in r.sequence())
    return items


def _tls(r: Reader) -> TLSConfig:
    m = r.mapping(("server", "upstream"))
    server = ServerTLS()
    upstream = UpstreamTLS()
    if "server" in m:
        s = m["server"].mapping(("certificate", "private_key", "min_version"))
        server = ServerTLS(
            certificate=_path(s["certificate"]) if "certificate" in s else None,
            private_key=_path(s["private_key"]) if "private_key" in s else None,
            min_version=s["min_version"].choice(("1.2", "1.3")) if "min_version" in s else "1.3",
        )
        if (server.certificate is None) != (server.private_key is None):
            m["server"].fail("certificate and private_key go together")
    if "upstream" in m:
        u = m["upstream"].mapping(("ca_bundle", "min_version", "verify"))
        upstream = UpstreamTLS(
            ca_bundle=_path(u["ca_bundle"]) if "ca_bundle" in u else None,
            min_version=u["min_version"].choice(("1.2", "1.3")) if "min_version" in u else "1.3",
            verify=u["verify"].boolean() if "verify" in u else True,
        )
    return TLSConfig(server=server, upstream=upstream)


def _path(r: Reader) -> str:
    p = r.string()
    if not os.path.isfile(p):
        r.fail(f"no such file {p!r}")
    return p


def _access(r: Reader, warnings: list[str], roleUpstreams: Optional[list[tuple[Reader, str]]] = None) -> AccessControl:
    m = r.mapping(
        (
            "api_keys",
            "roles",
            "ip_allowlist",
            "trusted_proxies",
            "session_timeout",
            "max_sessions",
            "header",
            "query_parameter",
        )
    )
    roles: list[Role] = []
    if "roles" in m:
        for name, rr in m["roles"].mappingOf():
            rm = rr.mapping(("allow", "deny", "upstreams", "admin"))
            roles.append(
                Role(
                    name=name,
                    allow=_operations(rm["allow"]) if "allow" in rm else (),
                    deny=_operations(rm["deny"]) if "deny" in rm else (),
                    upstreams=_roleUpstreams(rm["upstreams"], roleUpstreams) if "upstreams" in rm else ("*",),
                    admin=rm["admin"].boolean() if "admin" in rm else False,
                )
            )
    roleNames = {x.name for x in roles}
    keys: list[ApiKey] = []
    names: set[str] = set()
    if "api_keys" in m:
        for kr in m["api_keys"].sequence():
            km = kr.mapping(("name", "key_sha256", "key", "roles"), required=("name",))
            name = km["name"].string()
            if name in names:
                km["name"].fail(f"duplicate key name {name!r}")
            names.add(name)
            digest = None
            plain = None
            if "key_sha256" in km and "key" in km:
                kr.fail("give key_sha256 or key, not both")
            if "key_sha256" in km:
                hexdigest = km["key_sha256"].string().strip().lower()
                try:
                    digest = bytes.fromhex(hexdigest)
                except ValueError:
                    digest = b""
                if len(digest) != 32:
                    km["key_sha256"].fail("expected 64 hex digits (sha-256 of the key)")
            elif "key" in km:
                plain = km["key"].string().encode("utf-8")
                if len(plain) < 16:
                    km["key"].fail("keys must be at least 16 characters")
                warnings.append(
                    f"{km['key'].filename}:{km['key'].line}: {km['key'].key}: plain API key "
                    f"in configuration (development only; store key_sha256 instead)"
                )
            else:
                kr.fail("each key needs key_sha256 (or key, for development)")
            keyRoles = km["roles"].strings() if "roles" in km else ()
            for i, role in enumerate(keyRoles):
                if role not in roleNames:
                    km["roles"].sequence()[i].fail(f"unknown role {role!r}")
            keys.append(ApiKey(name=name, key_sha256=digest, key_plain=plain, roles=keyRoles))
            if roles and not keyRoles:
                warnings.append(
                    f"{km['name'].filename}:{km['name'].line}: {km['name'].key}: key {name!r} has no roles: "
                    f"with roles defined it may use lifecycle methods only"
                )
    header = m["header"].string() if "header" in m else "X-Akto-Api-Key"
    return AccessControl(
        api_keys=tuple(keys),
        roles=tuple(roles),
        ip_allowlist=m["ip_allowlist"].networks() if "ip_allowlist" in m else (),
        trusted_proxies=m["trusted_proxies"].networks() if "trusted_proxies" in m else (),
        session_timeout=m["session_timeout"].duration() if "session_timeout" in m else 1800.0,
        max_sessions=m["max_sessions"].integer(1) if "max_sessions" in m else 100_000,
        header=header,
        query_parameter=m["query_parameter"].string() if "query_parameter" in m else "akto_api_key",
    )


def _roleUpstreams(r: Reader, seen: Optional[list[tuple[Reader, str]]]) -> tuple[str, ...]:
    globs = r.strings()
    if seen is not None:
        seen.extend(zip(r.sequence(), globs))
    return globs


def _operations(r: Reader) -> tuple[str, ...]:
    out = []
    for item in r.sequence():
        op = item.string()
        method, _, target = op.partition(":")
        if not method:
            item.fail("an operation needs a method glob")
        if target and method not in ("tools/call", "resources/read", "prompts/get"):
            item.fail(
                "only tools/call:TOOL, resources/read:URI and prompts/get:NAME take a target"
            )
        problem = operationProblem(op)
        if problem is not None:
            item.warn(problem)
        out.append(op)
    return tuple(out)


def _upstreams(r: Reader) -> UpstreamPolicy:
    m = r.mapping(
        (
            "allow",
            "allow_private",
            "connect_timeout",
            "read_timeout",
            "idle_timeout",
            "max_idle_per_host",
            "pool_idle_timeout",
            "x_forwarded",
            "sse_keepalive",
            "fallbacks",
            "fallback_statuses",
            "breaker",
        )
    )
    d = UpstreamPolicy()
    allow = tuple(h.lower() for h in m["allow"].strings()) if "allow" in m else ()
    return UpstreamPolicy(
        allow=allow,
        allow_private=m["allow_private"].networks() if "allow_private" in m else (),
        connect_timeout=m["connect_timeout"].duration() if "connect_timeout" in m else d.connect_timeout,
        read_timeout=m["read_timeout"].duration() if "read_timeout" in m else d.read_timeout,
        idle_timeout=m["idle_timeout"].duration() if "idle_timeout" in m else d.idle_timeout,
        max_idle_per_host=m["max_idle_per_host"].integer(0, 1024)
        if "max_idle_per_host" in m
        else d.max_idle_per_host,
        pool_idle_timeout=m["pool_idle_timeout"].duration()
        if "pool_idle_timeout" in m
        else d.pool_idle_timeout,
        x_forwarded=m["x_forwarded"].boolean() if "x_forwarded" in m else True,
        sse_keepalive=m["sse_keepalive"].duration() if "sse_keepalive" in m else d.sse_keepalive,
        fallbacks=_fallbacks(m["fallbacks"], allow) if "fallbacks" in m else (),
        fallback_statuses=tuple(i.integer(500, 599) for i in m["fallback_statuses"].sequence())
        if "fallback_statuses" in m
        else d.fallback_statuses,
        breaker=_breaker(m["breaker"]) if "breaker" in m else d.breaker,
    )


def _prefixURL(r: Reader, url: Optional[str] = None) -> str:
    """
    An upstream URL prefix of C{upstreams.fallbacks}: C{http(s)://host[:port][/path]},
    no userinfo, query or fragment (C{url}, or C{r}'s value).
    """
    if url is None:
        url = r.string()
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError as e:
        r.fail(f"not a URL: {e}")
    if parts.scheme not in ("http", "https"):
        r.fail("expected an http:// or https:// URL prefix")
    if not parts.hostname:
        r.fail("the URL prefix needs a host")
    if "@" in parts.netloc:
        r.fail("userinfo is not allowed in an upstream URL")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        r.fail("an upstream URL prefix has no query or fragment (they are kept from the request)")
    return url


def _fallbacks(r: Reader, allow: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    out = []
    seen: set[str] = set()
    for prefix, alternates in r.mappingOf():
        url = _prefixURL(alternates, prefix)
        normal = url.rstrip("/").lower()
        if normal in seen:
            alternates.fail("the same upstream prefix is listed twice")
        seen.add(normal)
        items = alternates.sequence()
        if not items:
            alternates.fail("list at least one alternate URL")
        alts = []
        for item in items:
            alt = _prefixURL(item)
            if alt.rstrip("/").lower() == normal:
                item.fail("an alternate is the upstream itself")
            host = (urlsplit(alt).hostname or "").lower()
            if allow and not any(globsMeet(host, glob.strip("[]")) for glob in allow):
                item.warn(f"{host} is not in upstreams.allow: this alternate will be refused (403) and skipped")
            alts.append(alt)
        out.append((url, tuple(alts)))
    return tuple(out)


def _breaker(r: Reader) -> BreakerSettings:
    m = r.mapping(("failures", "open_for", "max_open_for"))
    d = BreakerSettings()
    openFor = m["open_for"].duration() if "open_for" in m else d.open_for
    maxOpen = m["max_open_for"].duration() if "max_open_for" in m else max(d.max_open_for, openFor)
    if openFor <= 0:
        m["open_for"].fail("must be more than 0s")
    if maxOpen < openFor:
        (m["max_open_for"] if "max_open_for" in m else r).fail("max_open_for must not be below open_for")
    return BreakerSettings(
        failures=m["failures"].integer(1, 1000) if "failures" in m else d.failures,
        open_for=openFor,
        max_open_for=maxOpen,
    )


def _threats(r: Reader) -> ThreatDetection:
    m = r.mapping(
        (
            "mode",
            "sensitivity",
            "enabled_checks",
            "custom_rules",
            "exclusions",
            "checks",
            "inspection_timeout",
            "duplicate_keys",
        )
    )
    rules = []
    if "custom_rules" in m:
        for i, cr in enumerate(m["custom_rules"].sequence()):
            cm = cr.mapping(("name", "pattern", "action", "severity", "keys"), required=("pattern",))
            rules.append(
                CustomRule(
                    name=cm["name"].string() if "name" in cm else f"custom_rule_{i + 1}",
                    pattern=_regex(cm["pattern"]),
                    action=cm["action"].choice(ACTIONS) if "action" in cm else "block",
                    severity=cm["severity"].choice(SEVERITIES) if "severity" in cm else "high",
                    keys=cm["keys"].boolean() if "keys" in cm else False,
                )
            )
    exclusions = []
    if "exclusions" in m:
        for er in m["exclusions"].sequence():
            em = er.mapping(("upstream", "path", "tool", "argument", "checks"))
            exclusions.append(
                Exclusion(
                    upstream=em["upstream"].string().lower() if "upstream" in em else "*",
                    path=em["path"].string() if "path" in em else "*",
                    tool=em["tool"].string() if "tool" in em else None,
                    argument=em["argument"].string() if "argument" in em else None,
                    checks=em["checks"].choices(CHECKS + ("custom_rules",) + MCP_CHECKS) if "checks" in em else (),
                )
            )
    settings = []
    if "checks" in m:
        for name, sr in m["checks"].mappingOf():
            if name not in CHECKS + ("custom_rules",):
                sr.fail(f"unknown check (one of {', '.join(CHECKS + ('custom_rules',))})")
            sm = sr.mapping(("mode", "action", "on_error"))
            settings.append(
                (
                    name,
                    CheckSettings(
                        mode=sm["mode"].choice(MODES) if "mode" in sm else None,
                        action=sm["action"].choice(ACTIONS) if "action" in sm else "block",
                        on_error=sm["on_error"].choice(("block", "pass")) if "on_error" in sm else "block",
                    ),
                )
            )
    return ThreatDetection(
        mode=m["mode"].choice(MODES) if "mode" in m else "enforce",
        sensitivity=m["sensitivity"].choice(SENSITIVITIES) if "sensitivity" in m else "medium",
        enabled_checks=m["enabled_checks"].choices(CHECKS) if "enabled_checks" in m else None,
        custom_rules=tuple(rules),
        exclusions=tuple(exclusions),
        checks=tuple(settings),
        inspection_timeout=m["inspection_timeout"].duration() if "inspection_timeout" in m else 2.0,
        duplicate_keys=m["duplicate_keys"].choice(("block", "alert", "log")) if "duplicate_keys" in m else "block",
    )


def _guardrails(r: Reader) -> tuple[Guardrail, ...]:
    out = []
    names: set[str] = set()
    for gr in r.sequence():
        gm = gr.mapping(("name", "type", "rules", "mode", "upstreams"), required=("name", "type"))
        name = gm["name"].string()
        if name in names:
            gm["name"].fail(f"duplicate guardrail name {name!r}")
        names.add(name)
        kind = gm["type"].choice(("content_filter", "rate_limit", "pii"))
        content: list[ContentRule] = []
        rates: list[RateRule] = []
        pii: list[PiiRule] = []
        for rr in gm["rules"].sequence() if "rules" in gm else []:
            if kind == "content_filter":
                rm = rr.mapping(("pattern", "action", "name", "keys"), required=("pattern",))
                content.append(
                    ContentRule(
                        pattern=_regex(rm["pattern"]),
                        action=rm["action"].choice(ACTIONS) if "action" in rm else "block",
                        name=rm["name"].string() if "name" in rm else None,
                        keys=rm["keys"].boolean() if "keys" in rm else False,
                    )
                )
            elif kind == "rate_limit":
                rm = rr.mapping(
                    ("requests_per_minute", "per_client", "burst", "per", "tools"), required=("requests_per_minute",)
                )
                rates.append(
                    RateRule(
                        requests_per_minute=rm["requests_per_minute"].integer(1),
                        per_client=rm["per_client"].boolean() if "per_client" in rm else False,
                        burst=rm["burst"].integer(0) if "burst" in rm else 0,
                        per=rm["per"].choices(("client", "ip", "upstream", "tool")) if "per" in rm else (),
                        tools=rm["tools"].strings() if "tools" in rm else (),
                    )
                )
            else:
                rm = rr.mapping(("entity", "action"), required=("entity",))
                pii.append(
                    PiiRule(
                        entity=rm["entity"].choice(PII_ENTITIES),
                        action=rm["action"].choice(ACTIONS) if "action" in rm else "redact",
                    )
                )
        if "rules" not in gm or not (content or rates or pii):
            gr.fail("a guardrail needs at least one rule")
        out.append(
            Guardrail(
                name=name,
                type=kind,
                mode=gm["mode"].choice(MODES) if "mode" in gm else None,
                content_rules=tuple(content),
                rate_rules=tuple(rates),
                pii_rules=tuple(pii),
                upstreams=gm["upstreams"].strings() if "upstreams" in gm else ("*",),
            )
        )
    return tuple(out)


def _audit(r: Reader) -> AuditConfig:
    m = r.mapping(
        (
            "destination",
            "syslog_facility",
            "max_file_size",
            "rotate_interval",
            "keep_files",
            "capture_bodies",
            "capture_scope",
            "max_captured_body",
            "recent_events",
        )
    )
    d = AuditConfig()
    destination, syslog = d.destination, None
    if "destination" in m:
        destination = m["destination"].string()
        syslog = _syslogTarget(m["destination"], destination)
        if syslog is None and destination not in ("stdout", "none"):
            directory = os.path.dirname(os.path.abspath(destination))
            if not os.path.isdir(directory):
                m["destination"].fail(f"no such directory {directory!r} (stdout, none, syslog[:unix:PATH|:udp:HOST:PORT] or a file path)")
    return AuditConfig(
        destination=destination,
        syslog=syslog,
        syslog_facility=m["syslog_facility"].choice(SYSLOG_FACILITIES) if "syslog_facility" in m else d.syslog_facility,
        max_file_size=_sizeOrZero(m["max_file_size"]) if "max_file_size" in m else d.max_file_size,
        rotate_interval=_interval(m["rotate_interval"]) if "rotate_interval" in m else d.rotate_interval,
        keep_files=m["keep_files"].integer(0, 1000) if "keep_files" in m else d.keep_files,
        capture_bodies=_capture(m["capture_bodies"]) if "capture_bodies" in m else d.capture_bodies,
        capture_scope=m["capture_scope"].choice(("notable", "all")) if "capture_scope" in m else d.capture_scope,
        max_captured_body=m["max_captured_body"].size() if "max_captured_body" in m else d.max_captured_body,
        recent_events=m["recent_events"].integer(0, 10_000_000) if "recent_events" in m else d.recent_events,
    )


def _syslogTarget(r: Reader, text: str) -> Optional[SyslogTarget]:
    """
    C{syslog} (the local socket C{/dev/log}), C{syslog:unix:PATH} or
    C{syslog:udp:HOST:PORT} (C{[::1]:514} for IPv6); None for any other
    destination.
    """
    if text != "syslog" and not text.startswith("syslog:"):
        return None
    if text == "syslog":
        return SyslogTarget("unix")
    kind, _, rest = text[len("syslog:") :].partition(":")
    if kind == "unix" and rest:
        return SyslogTarget("unix", path=rest)
    if kind == "udp":
        host, sep, port = rest.rpartition(":")
        host = host.strip("[]")
        if sep and host and port.isdigit() and 0 < int(port) < 65536:
            return SyslogTarget("udp", host=host, port=int(port))
    r.fail(f"expected syslog, syslog:unix:PATH or syslog:udp:HOST:PORT, not {text!r}")


def _sizeOrZero(r: Reader) -> int:
    if r.value() in (0, "0"):
        return 0
    return r.size()


def _interval(r: Reader) -> float:
    """
    A rotation interval: a duration of at least a second, C{daily},
    C{hourly}, or 0 (never).
    """
    named = {"daily": 86400.0, "hourly": 3600.0}
    v = r.value()
    if isinstance(v, str) and v in named:
        return named[v]
    seconds = r.duration()
    if 0 < seconds < 1:
        r.fail("must be at least 1s (or 0: never)")
    return seconds


def _capture(r: Reader) -> str:
    """
    C{none}, C{redacted} or C{full}; the booleans of earlier versions
    (C{false}: none, C{true}: redacted, the safe reading).
    """
    v = r.value()
    if isinstance(v, bool):
        return "redacted" if v else "none"
    return r.choice(CAPTURE_POLICIES)


_SEVERITY_TYPES = ("threat_detected", "request_blocked", "tool_definition_changed")


def _alerts(r: Reader, channels: Channels, warnings: list[str]) -> tuple[Alert, ...]:
    out = []
    for ar in r.sequence():
        am = ar.mapping(
            (
                "type",
                "name",
                "severity",
                "threshold",
                "window",
                "checks",
                "group_by",
                "group_wait",
                "group_interval",
                "channels",
            ),
            required=("type", "channels"),
        )
        kind = am["type"].choice(ALERT_TYPES)
        if "severity" in am and kind not in _SEVERITY_TYPES:
            am["severity"].fail(f"applies to {', '.join(_SEVERITY_TYPES)} only")
        if "checks" in am and kind not in _SEVERITY_TYPES:
            am["checks"].fail(f"applies to {', '.join(_SEVERITY_TYPES)} only")
        names = am["channels"].choices(CHANNEL_NAMES)
        if not names:
            am["channels"].fail("at least one channel is needed (email, slack, webhook, log)")
        for i, name in enumerate(names):
            if not channels.configured(name):
                where = am["channels"].sequence()[i]
                warnings.append(
                    f"{where.filename}:{where.line}: {where.key}: channel {name!r} is not configured under "
                    f"channels: these alerts are written to the log instead (and counted as dropped)"
                )
        window = am["window"].duration() if "window" in am else 60.0
        if window <= 0:
            am["window"].fail("must be positive")
        d = Alert(type=kind, channels=())
        out.append(
            Alert(
                type=kind,
                channels=names,
                name=am["name"].string() if "name" in am else None,
                severity=am["severity"].choice(SEVERITIES) if "severity" in am else None,
                threshold=am["threshold"].integer(1, 100_000_000) if "threshold" in am else 1,
                window=window,
                checks=am["checks"].strings() if "checks" in am else (),
                group_by=am["group_by"].choices(ALERT_GROUP_FIELDS) if "group_by" in am else d.group_by,
                group_wait=am["group_wait"].duration() if "group_wait" in am else d.group_wait,
                group_interval=_positive(am["group_interval"]) if "group_interval" in am else d.group_interval,
            )
        )
    return tuple(out)


def _positive(r: Reader) -> float:
    seconds = r.duration()
    if seconds <= 0:
        r.fail("must be positive")
    return seconds


_DELIVERY_KEYS = ("timeout", "queue_size", "backoff", "max_backoff", "give_up_after")
_EMAIL = re2.compile(r"^[^@\s<>]+@[^@\s<>]+$")


def _delivery(m: dict[str, Reader], where: Reader) -> Delivery:
    d = Delivery()
    delivery = Delivery(
        timeout=_positive(m["timeout"]) if "timeout" in m else d.timeout,
        queue_size=m["queue_size"].integer(1, 100_000) if "queue_size" in m else d.queue_size,
        backoff=_positive(m["backoff"]) if "backoff" in m else d.backoff,
        max_backoff=_positive(m["max_backoff"]) if "max_backoff" in m else d.max_backoff,
        give_up_after=_positive(m["give_up_after"]) if "give_up_after" in m else d.give_up_after,
    )
    if delivery.max_backoff < delivery.backoff:
        (m.get("max_backoff") or where).fail("must not be less than backoff")
    return delivery


def _address(r: Reader) -> str:
    text = r.string()
    if not _EMAIL.match(text):
        r.fail(f"expected an e-mail address, not {text!r}")
    return text


def _secret(m: dict[str, Reader], name: str, where: Reader) -> Optional[str]:
    """
    C{name} given in the file, or read from C{name_file} (its last line
    break dropped); not both.
    """
    fileKey = name + "_file"
    if name in m and fileKey in m:
        where.fail(f"give {name} or {fileKey}, not both")
    if name in m:
        return m[name].string()
    if fileKey not in m:
        return None
    path = m[fileKey].string()
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        m[fileKey].fail(f"cannot read {path!r}: {getattr(e, 'strerror', None) or e}")
    text = text.rstrip("\r\n")
    if not text:
        m[fileKey].fail(f"{path!r} is empty")
    return text


def _starttls(r: Reader) -> str:
    """
    C{require}, C{opportunistic} or C{off} (YAML reads a bare C{off} as
    false, C{on} as true: taken as C{off} and C{require}).
    """
    v = r.value()
    if isinstance(v, bool):
        return "require" if v else "off"
    return r.choice(("require", "opportunistic", "off"))


def _channels(r: Reader, warnings: list[str]) -> Channels:
    m = r.mapping(("email", "slack", "webhook"))
    email = slack = webhook = None
    if "email" in m:
        er = m["email"]
        em = er.mapping(
            (
                "smtp_host",
                "smtp_port",
                "from",
                "to",
                "starttls",
                "username",
                "password",
                "password_file",
                "ca_bundle",
                "subject_prefix",
            )
            + _DELIVERY_KEYS,
            required=("smtp_host", "to"),
        )
        to = tuple(_address(x) for x in em["to"].sequence()) if isinstance(em["to"].node, yaml.SequenceNode) else (_address(em["to"]),)
        if not to:
            em["to"].fail("at least one recipient is needed")
        username = em["username"].string() if "username" in em else None
        password = _secret(em, "password", er)
        if (username is None) != (password is None):
            er.fail("username and password (or password_file) go together")
        starttls = _starttls(em["starttls"]) if "starttls" in em else ("require" if username else "opportunistic")
        if username and starttls != "require":
            em["starttls"].fail("with a username, starttls must be require (the password would go unprotected)")
        email = EmailChannel(
            smtp_host=em["smtp_host"].string(),
            smtp_port=em["smtp_port"].integer(1, 65535) if "smtp_port" in em else 25,
            from_address=_address(em["from"]) if "from" in em else "akto-proxy@localhost",
            to=to,
            starttls=starttls,
            username=username,
            password=password,
            ca_bundle=_path(em["ca_bundle"]) if "ca_bundle" in em else None,
            subject_prefix=em["subject_prefix"].string(allowEmpty=True) if "subject_prefix" in em else "[akto-proxy]",
            delivery=_delivery(em, er),
        )
    if "slack" in m:
        sm = m["slack"].mapping(("webhook_url", "ca_bundle") + _DELIVERY_KEYS, required=("webhook_url",))
        slack = SlackChannel(
            webhook_url=_url(sm["webhook_url"]),
            ca_bundle=_path(sm["ca_bundle"]) if "ca_bundle" in sm else None,
            delivery=_delivery(sm, m["slack"]),
        )
    if "webhook" in m:
        wr = m["webhook"]
        wm = wr.mapping(("url", "secret", "secret_file", "headers", "ca_bundle") + _DELIVERY_KEYS, required=("url",))
        secret = _secret(wm, "secret", wr)
        if secret is None:
            warnings.append(
                f"{wr.filename}:{wr.line}: {wr.key}: no secret: webhook alerts are sent unsigned "
                f"(the receiver cannot tell them from forgeries)"
            )
        headers = []
        for name, hr in wm["headers"].mappingOf() if "headers" in wm else []:
            if not re2.match(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", name) or name.lower() in ("content-type", "content-length", "host"):
                hr.fail(f"not a header the webhook may set: {name!r}")
            value = hr.string()
            if "\r" in value or "\n" in value:
                hr.fail("a header value must be one line")
            headers.append((name, value))
        webhook = WebhookChannel(
            url=_url(wm["url"]),
            secret=secret.encode("utf-8") if secret is not None else None,
            headers=tuple(headers),
            ca_bundle=_path(wm["ca_bundle"]) if "ca_bundle" in wm else None,
            delivery=_delivery(wm, wr),
        )
    return Channels(email=email, slack=slack, webhook=webhook)


def _url(r: Reader) -> str:
    u = r.string()
    parts = urlsplit(u)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        r.fail(f"expected an http(s) URL, not {u!r}")
    return u


def _limits(r: Reader) -> Limits:
    m = r.mapping(
        (
            "max_request_body",
            "max_inspected_response",
            "oversize",
            "max_ws_message",
            "max_header_bytes",
            "max_headers",
            "client_header_timeout",
            "client_body_timeout",
            "client_keepalive_timeout",
            "shutdown_grace",
        )
    )
    d = Limits()
    return Limits(
        max_request_body=m["max_request_body"].size() if "max_request_body" in m else d.max_request_body,
        max_inspected_response=m["max_inspected_response"].size()
        if "max_inspected_response" in m
        else d.max_inspected_response,
        oversize=m["oversize"].choice(("block", "pass")) if "oversize" in m else d.oversize,
        max_ws_message=m["max_ws_message"].size() if "max_ws_message" in m else d.max_ws_message,
        max_header_bytes=m["max_header_bytes"].size() if "max_header_bytes" in m else d.max_header_bytes,
        max_headers=m["max_headers"].integer(8, 10000) if "max_headers" in m else d.max_headers,
        client_header_timeout=m["client_header_timeout"].duration()
        if "client_header_timeout" in m
        else d.client_header_timeout,
        client_body_timeout=m["client_body_timeout"].duration()
        if "client_body_timeout" in m
        else d.client_body_timeout,
        client_keepalive_timeout=m["client_keepalive_timeout"].duration()
        if "client_keepalive_timeout" in m
        else d.client_keepalive_timeout,
        shutdown_grace=m["shutdown_grace"].duration() if "shutdown_grace" in m else d.shutdown_grace,
    )


def _config(root: Reader, filename: str) -> Config:
    m = root.mapping(TOP_LEVEL, required=("listen",))
    warnings: list[str] = []
    listen = _listeners(m["listen"])
    if not listen:
        m["listen"].fail("at least one endpoint is needed")
    public_url: Optional[str] = None
    if "public_url" in m and not m["public_url"].isNull():
        public_url = _url(m["public_url"]).rstrip("/")
        if urlsplit(public_url).path not in ("", "/"):
            m["public_url"].fail("give only scheme://host[:port], no path")
    admin = None
    if "admin" in m:
        am = m["admin"].mapping(("listen",))
        admin = AdminConfig(listen=_listeners(am["listen"]) if "listen" in am else ())
    tls = _tls(m["tls"]) if "tls" in m else TLSConfig()
    for i, lst in enumerate(listen + (admin.listen if admin else ())):
        if lst.tls and tls.server.certificate is None:
            m["listen"].fail("a tls: true listener needs tls.server.certificate and private_key")
    roleUpstreams: list[tuple[Reader, str]] = []
    access = _access(m["access_control"], warnings, roleUpstreams) if "access_control" in m else AccessControl()
    upstreams = _upstreams(m["upstreams"]) if "upstreams" in m else UpstreamPolicy()
    for where, glob in roleUpstreams:
        problem = upstreamProblem(glob, upstreams.allow)
        if problem is not None:
            where.warn(problem)
    redis = RedisConfig()
    if "redis" in m:
        rm = m["redis"].mapping(("url", "on_error", "key_prefix", "max_forward_body", "max_forwards"))
        url = None
        if "url" in rm:
            url = rm["url"].string()
            if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
                rm["url"].fail("expected redis://host:port[/db]")
        onError, onErrorBy = _redisOnError(rm["on_error"]) if "on_error" in rm else ("open", ())
        redis = RedisConfig(
            url=url,
            on_error=onError,
            on_error_by=onErrorBy,
            key_prefix=rm["key_prefix"].string() if "key_prefix" in rm else "akto:",
            max_forward_body=rm["max_forward_body"].size() if "max_forward_body" in rm else 1024 * 1024,
            max_forwards=rm["max_forwards"].integer(1) if "max_forwards" in rm else 1000,
        )
    cache = CacheConfig()
    if "cache" in m:
        cm = m["cache"].mapping(("enabled", "ttl", "max_size", "max_entries", "max_entry"))
        default = CacheConfig()
        maxSize = cm["max_size"].size() if "max_size" in cm else default.max_size
        maxEntry = cm["max_entry"].size() if "max_entry" in cm else min(default.max_entry, maxSize)
        if maxEntry > maxSize:
            cm["max_entry"].fail(f"larger than max_size ({maxSize} bytes)")
        cache = CacheConfig(
            enabled=cm["enabled"].boolean() if "enabled" in cm else False,
            ttl=cm["ttl"].duration() if "ttl" in cm else default.ttl,
            max_size=maxSize,
            max_entries=cm["max_entries"].integer(1) if "max_entries" in cm else default.max_entries,
            max_entry=maxEntry,
        )
    metrics = MetricsConfig()
    if "metrics" in m:
        mm = m["metrics"].mapping(("enabled", "instance"))
        metrics = MetricsConfig(
            enabled=mm["enabled"].boolean() if "enabled" in mm else True,
            instance=mm["instance"].string() if "instance" in mm else None,
        )
    channels = _channels(m["channels"], warnings) if "channels" in m else Channels()
    return Config(
        source=filename,
        listen=listen,
        public_url=public_url,
        admin=admin,
        tls=tls,
        access_control=access,
        upstreams=upstreams,
        threat_detection=_threats(m["threat_detection"]) if "threat_detection" in m else ThreatDetection(),
        guardrails=_guardrails(m["guardrails"]) if "guardrails" in m else (),
        audit=_audit(m["audit"]) if "audit" in m else AuditConfig(),
        alerts=_alerts(m["alerts"], channels, warnings) if "alerts" in m else (),
        channels=channels,
        cache=cache,
        redis=redis,
        limits=_limits(m["limits"]) if "limits" in m else Limits(),
        metrics=metrics,
        mcp=_mcp(m["mcp"]) if "mcp" in m else McpConfig(state_dir=_stateDir()),
        warnings=tuple(warnings + root.notes),
    )


def _protection(r: Reader, actions: tuple[str, ...], default: Protection) -> Protection:
    """
    C{false} (off), C{true} (the defaults), or a mapping.
    """
    if not isinstance(r.node, yaml.MappingNode):
        return default if r.boolean() else Protection(enabled=False, action=default.action)
    m = r.mapping(("enabled", "mode", "action", "sensitivity", "on_error", "model"))
    return Protection(
        model=m["model"].boolean() if "model" in m else False,
        enabled=m["enabled"].boolean() if "enabled" in m else True,
        mode=m["mode"].choice(MODES) if "mode" in m else None,
        action=m["action"].choice(actions) if "action" in m else default.action,
        sensitivity=m["sensitivity"].choice(SENSITIVITIES) if "sensitivity" in m else None,
        on_error=m["on_error"].choice(("block", "pass")) if "on_error" in m else "block",
    )


def _serverRequests(r: Reader) -> ServerRequests:
    if not isinstance(r.node, yaml.MappingNode):
        return ServerRequests() if r.boolean() else ServerRequests(enabled=False)
    kinds = ("sampling", "elicitation", "roots")
    m = r.mapping(kinds + ("rules",))
    rules = []
    if "rules" in m:
        for rr in m["rules"].sequence():
            rm = rr.mapping(("upstream", "roles") + kinds)
            rules.append(
                ServerRequestRule(
                    upstream=rm["upstream"].string().lower() if "upstream" in rm else "*",
                    roles=rm["roles"].strings() if "roles" in rm else (),
                    **{k: rm[k].choice(SERVER_REQUEST_POLICIES) for k in kinds if k in rm},
                )
            )
    d = ServerRequests()
    return ServerRequests(
        sampling=m["sampling"].choice(SERVER_REQUEST_POLICIES) if "sampling" in m else d.sampling,
        elicitation=m["elicitation"].choice(SERVER_REQUEST_POLICIES) if "elicitation" in m else d.elicitation,
        roots=m["roots"].choice(SERVER_REQUEST_POLICIES) if "roots" in m else d.roots,
        rules=tuple(rules),
    )


def _stateDir() -> str:
    """
    The daemon's state directory: systemd's (C{StateDirectory=} sets
    C{$STATE_DIRECTORY}), else C{/var/lib/akto-proxy}.
    """
    return os.environ.get("STATE_DIRECTORY", "").split(":")[0] or McpConfig().state_dir


def _mcp(r: Reader) -> McpConfig:
    m = r.mapping(("pin_tools", "state_dir", "tool_poisoning", "prompt_injection", "server_requests"))
    d = McpConfig()
    return McpConfig(
        pin_tools=m["pin_tools"].boolean() if "pin_tools" in m else True,
        state_dir=m["state_dir"].string() if "state_dir" in m else _stateDir(),
        tool_poisoning=_protection(m["tool_poisoning"], ("withhold", "sanitize"), d.tool_poisoning) if "tool_poisoning" in m else d.tool_poisoning,
        prompt_injection=_protection(m["prompt_injection"], ("block", "redact", "fence"), d.prompt_injection) if "prompt_injection" in m else d.prompt_injection,
        server_requests=_serverRequests(m["server_requests"]) if "server_requests" in m else d.server_requests,
    )


def hashKey(key: str) -> str:
    """
    The C{key_sha256} value for an API key.
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
