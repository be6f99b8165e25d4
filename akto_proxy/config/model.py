"""
The configuration as immutable values.  Built only by L{akto_proxy.config.loader}.
"""

from __future__ import annotations

import ipaddress
from typing import Optional, Union

import attrs

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

CHECKS = ("sql_injection", "command_injection", "path_traversal", "data_exfiltration")
ACTIONS = ("block", "redact", "alert", "log")
MODES = ("enforce", "monitor")
SENSITIVITIES = ("low", "medium", "high")


@attrs.frozen
class Listener:
    endpoint: str
    tls: bool = False


@attrs.frozen
class AdminConfig:
    listen: tuple[Listener, ...] = ()


@attrs.frozen
class ServerTLS:
    certificate: Optional[str] = None
    private_key: Optional[str] = None
    min_version: str = "1.3"


@attrs.frozen
class UpstreamTLS:
    ca_bundle: Optional[str] = None
    min_version: str = "1.3"
    verify: bool = True


@attrs.frozen
class TLSConfig:
    server: ServerTLS = ServerTLS()
    upstream: UpstreamTLS = UpstreamTLS()


@attrs.frozen
class ApiKey:
    name: str
    key_sha256: Optional[bytes]  # raw digest
    key_plain: Optional[bytes]
    roles: tuple[str, ...]


@attrs.frozen
class Role:
    name: str
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    upstreams: tuple[str, ...] = ("*",)
    admin: bool = False


@attrs.frozen
class AccessControl:
    api_keys: tuple[ApiKey, ...] = ()
    roles: tuple[Role, ...] = ()
    ip_allowlist: tuple[Network, ...] = ()
    trusted_proxies: tuple[Network, ...] = ()
    session_timeout: float = 1800.0
    max_sessions: int = 100_000
    header: str = "X-Akto-Api-Key"
    query_parameter: str = "akto_api_key"

    def role(self, name: str) -> Optional[Role]:
        for r in self.roles:
            if r.name == name:
                return r
        return None


@attrs.frozen
class BreakerSettings:
    """
    The circuit breaker of upstreams in a fallback chain: after
    C{failures} consecutive failures an upstream is skipped for
    C{open_for}, doubled after each failed probe up to C{max_open_for}.
    """

    failures: int = 3
    open_for: float = 5.0
    max_open_for: float = 120.0


@attrs.frozen
class UpstreamPolicy:
    allow: tuple[str, ...] = ()
    allow_private: tuple[Network, ...] = ()
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    idle_timeout: float = 300.0
    max_idle_per_host: int = 256
    pool_idle_timeout: float = 4.0
    x_forwarded: bool = True
    sse_keepalive: float = 15.0
    #: upstream URL prefix -> alternates, in order (URLs as written)
    fallbacks: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: answers of an upstream that count as its failure (and are retried)
    fallback_statuses: tuple[int, ...] = (502, 503, 504)
    breaker: BreakerSettings = BreakerSettings()


@attrs.frozen
class CustomRule:
    name: str
    pattern: str
    action: str = "block"
    severity: str = "high"
    keys: bool = False  # also match object keys (ModSecurity's ARGS_NAMES)


@attrs.frozen
class Exclusion:
    upstream: str = "*"
    path: str = "*"
    tool: Optional[str] = None
    argument: Optional[str] = None
    checks: tuple[str, ...] = ()  # empty: all


@attrs.frozen
class CheckSettings:
    mode: Optional[str] = None  # None: inherit the global mode
    action: str = "block"
    on_error: str = "block"  # or "pass"


@attrs.frozen
class ThreatDetection:
    mode: str = "enforce"
    sensitivity: str = "medium"
    enabled_checks: Optional[tuple[str, ...]] = None  # None (absent): all checks
    custom_rules: tuple[CustomRule, ...] = ()
    exclusions: tuple[Exclusion, ...] = ()
    checks: tuple[tuple[str, CheckSettings], ...] = ()
    inspection_timeout: float = 2.0
    duplicate_keys: str = "block"  # JSON naming a key twice in one object: block | alert | log

    def settings(self, check: str) -> CheckSettings:
        for name, s in self.checks:
            if name == check:
                return s
        return CheckSettings()


@attrs.frozen
class ContentRule:
    pattern: str
    action: str = "block"
    name: Optional[str] = None
    keys: bool = False  # also match object keys


@attrs.frozen
class RateRule:
    requests_per_minute: int
    per_client: bool = False
    burst: int = 0
    per: tuple[str, ...] = ()  # any of client, ip, upstream, tool
    tools: tuple[str, ...] = ()  # count only tools/call of these tool globs


@attrs.frozen
class PiiRule:
    entity: str
    action: str = "redact"


@attrs.frozen
class Guardrail:
    name: str
    type: str
    mode: Optional[str] = None
    content_rules: tuple[ContentRule, ...] = ()
    rate_rules: tuple[RateRule, ...] = ()
    pii_rules: tuple[PiiRule, ...] = ()
    upstreams: tuple[str, ...] = ("*",)


CAPTURE_POLICIES = ("none", "redacted", "full")
ALERT_TYPES = (
    "threat_detected",
    "request_blocked",
    "rate_limit_exceeded",
    "upstream_error",
    "tool_definition_changed",
    "config_reloaded",
    "reload_failed",
)
ALERT_GROUP_FIELDS = ("check", "rule", "upstream", "key", "client", "tool")
CHANNEL_NAMES = ("email", "slack", "webhook", "log")
SYSLOG_FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip


@attrs.frozen
class SyslogTarget:
    """
    Where C{audit.destination: syslog...} sends its records: a local
    datagram socket (C{unix}, C{/dev/log} by default) or a UDP collector.
    """

    transport: str  # "unix" or "udp"
    path: str = "/dev/log"
    host: str = ""
    port: int = 514


@attrs.frozen
class AuditConfig:
    """
    C{audit}: where the audit trail goes and what it keeps.

    @ivar destination: C{stdout}, C{none}, a file path (JSON lines), or
        C{syslog} (see L{syslog}).
    @ivar syslog: the parsed syslog destination, else None.
    @ivar max_file_size: rotate the file at this size; 0: never by size.
    @ivar rotate_interval: rotate the file when the clock crosses a
        multiple of this many seconds (UTC; 86400: at midnight); 0: never.
    @ivar keep_files: rotated files kept (0: all).
    @ivar capture_bodies: C{none}, C{redacted} (secrets and personal data
        masked) or C{full}.
    @ivar capture_scope: C{notable} (refused, rewritten or with a finding)
        or C{all} messages.
    @ivar max_captured_body: characters of one captured body (the rest is
        cut, marked C{truncated}).
    """

    destination: str = "stdout"
    syslog: Optional[SyslogTarget] = None
    syslog_facility: str = "local0"
    max_file_size: int = 100 * 1024 * 1024
    rotate_interval: float = 0.0
    keep_files: int = 5
    capture_bodies: str = "none"
    capture_scope: str = "notable"
    max_captured_body: int = 16 * 1024
    recent_events: int = 10000


@attrs.frozen
class Alert:
    """
    One entry of C{alerts}: which events raise it, how they are grouped,
    and the channels it goes to.

    @ivar severity: the least severity of a finding that counts (None: any).
    @ivar threshold: events needed within C{window} before it fires.
    @ivar checks: only findings of these checks count (empty: all).
    @ivar group_by: the labels that split events into groups (one alert,
        with a count, per group).
    @ivar group_wait: how long a new group gathers events before its first
        notification.
    @ivar group_interval: the cooldown: at most one notification per group
        per interval, carrying what came meanwhile; a group quiet for a
        whole interval ends.
    """

    type: str
    channels: tuple[str, ...]
    name: Optional[str] = None
    severity: Optional[str] = None
    threshold: int = 1
    window: float = 60.0
    checks: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ("check", "rule", "upstream")
    group_wait: float = 30.0
    group_interval: float = 300.0

    @property
    def title(self) -> str:
        return self.name or self.type


@attrs.frozen
class Delivery:
    """
    How a channel delivers: each attempt within C{timeout}; failed ones
    retried after C{backoff}, doubling up to C{max_backoff}; a notification
    still undelivered after C{give_up_after} is dropped (counted and
    logged), as is the oldest one when C{queue_size} wait.
    """

    timeout: float = 30.0
    queue_size: int = 100
    backoff: float = 5.0
    max_backoff: float = 600.0
    give_up_after: float = 86400.0


@attrs.frozen
class EmailChannel:
    """
    C{channels.email}: SMTP.  C{starttls}: C{require} (TLS with a verified
    certificate or no delivery), C{opportunistic} (TLS when offered,
    unverified), C{off}.
    """

    smtp_host: str
    to: tuple[str, ...]
    smtp_port: int = 25
    from_address: str = "akto-proxy@localhost"
    starttls: str = "opportunistic"
    username: Optional[str] = None
    password: Optional[str] = attrs.field(default=None, repr=False)
    ca_bundle: Optional[str] = None
    subject_prefix: str = "[akto-proxy]"
    delivery: Delivery = Delivery()


@attrs.frozen
class SlackChannel:
    """
    C{channels.slack}: an incoming webhook (its URL is a secret: never
    logged).
    """

    webhook_url: str = attrs.field(repr=False)
    ca_bundle: Optional[str] = None
    delivery: Delivery = Delivery()


@attrs.frozen
class WebhookChannel:
    """
    C{channels.webhook}: a JSON POST signed with C{secret}
    (L{akto_proxy.observe.alerts}).
    """

    url: str = attrs.field(repr=False)
    secret: Optional[bytes] = attrs.field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), repr=False)
    ca_bundle: Optional[str] = None
    delivery: Delivery = Delivery()


@attrs.frozen
class Channels:
    email: Optional[EmailChannel] = None
    slack: Optional[SlackChannel] = None
    webhook: Optional[WebhookChannel] = None

    def configured(self, name: str) -> bool:
        return name == "log" or getattr(self, name, None) is not None


@attrs.frozen
class CacheConfig:
    """
    The response cache (C{akto_proxy.web.cache}): MCP list and read results,
    plain HTTP GETs per their C{Cache-Control}.

    @ivar ttl: seconds an MCP result stays fresh when its server gives no
        C{ttlMs}.
    @ivar max_size: bytes held at most (least recently used first out).
    @ivar max_entries: answers held at most.
    @ivar max_entry: the largest answer kept (bytes).
    """

    enabled: bool = False
    ttl: float = 60.0
    max_size: int = 64 * 1024 * 1024
    max_entries: int = 10000
    max_entry: int = 1024 * 1024


#: what shares state through Redis, each with its own C{on_error}
REDIS_FEATURES = ("rate_limits", "sessions", "legacy_routing")


@attrs.frozen
class RedisConfig:
    url: Optional[str] = None
    #: open or closed when Redis is unreachable, for every feature not in
    #: C{on_error_by}
    on_error: str = "open"
    #: (feature, open | closed) pairs, features from L{REDIS_FEATURES}
    on_error_by: tuple[tuple[str, str], ...] = ()
    key_prefix: str = "akto:"
    #: the largest legacy-SSE POST body (and answer) forwarded between
    #: instances; larger: 413
    max_forward_body: int = 1024 * 1024
    #: forwarded POSTs in flight per instance, each way; more: 503
    max_forwards: int = 1000

    def onErrorFor(self, feature: str) -> str:
        for name, policy in self.on_error_by:
            if name == feature:
                return policy
        return self.on_error


@attrs.frozen
class Limits:
    max_request_body: int = 8 * 1024 * 1024
    max_inspected_response: int = 16 * 1024 * 1024
    oversize: str = "block"
    max_ws_message: int = 16 * 1024 * 1024
    max_header_bytes: int = 32 * 1024
    max_headers: int = 100
    client_header_timeout: float = 10.0
    client_body_timeout: float = 30.0
    #: a keep-alive connection idle between requests this long is closed
    #: (nginx's keepalive_timeout); 0: never
    client_keepalive_timeout: float = 75.0
    shutdown_grace: float = 10.0


@attrs.frozen
class MetricsConfig:
    enabled: bool = True
    instance: Optional[str] = None


MCP_CHECKS = ("tool_poisoning", "prompt_injection", "tool_pinning", "server_requests")
SERVER_REQUEST_POLICIES = ("allow", "deny", "inspect")


@attrs.frozen
class Protection:
    """
    One of the MCP protections (C{mcp.tool_poisoning}, C{mcp.prompt_injection}).

    @ivar enabled: False when configured C{false}.
    @ivar mode: C{enforce} or C{monitor}; None: C{threat_detection.mode}.
    @ivar action: what enforcing does (C{withhold} or C{sanitize} a
        poisoned tool; C{block}, C{redact} or C{fence} an injected result).
    @ivar sensitivity: None: C{threat_detection.sensitivity}.
    @ivar model: also ask the learned model (L{akto_proxy.inspect.checks.
        learned}).
    """

    enabled: bool = True
    mode: Optional[str] = None
    action: str = "block"
    sensitivity: Optional[str] = None
    on_error: str = "block"
    #: the learned second opinion beside the rules (more recall, at the
    #: cost of a model run on each text of prose: opt-in)
    model: bool = False


@attrs.frozen
class ServerRequestRule:
    """
    A policy for server-to-client requests on some upstreams and roles
    (the first rule that matches wins; then the defaults).
    """

    upstream: str = "*"
    roles: tuple[str, ...] = ()  # empty: any key
    sampling: Optional[str] = None
    elicitation: Optional[str] = None
    roots: Optional[str] = None


@attrs.frozen
class ServerRequests:
    """
    C{mcp.server_requests}: C{allow} (relayed), C{deny} (answered to the
    server with an error, never reaching the client) or C{inspect} (relayed
    if what it asks passes inspection).
    """

    sampling: str = "inspect"
    elicitation: str = "inspect"
    roots: str = "allow"
    rules: tuple[ServerRequestRule, ...] = ()
    enabled: bool = True


@attrs.frozen
class McpConfig:
    """
    C{mcp}: the agent-specific protections, all on by default.

    @ivar pin_tools: pin tool (prompt, resource) definitions on first
        sight; a changed one is withheld until an operator approves it.
    @ivar state_dir: where pins are kept across restarts.
    """

    pin_tools: bool = True
    state_dir: str = "/var/lib/akto-proxy"
    tool_poisoning: Protection = Protection(action="withhold")
    prompt_injection: Protection = Protection(action="block")
    server_requests: ServerRequests = ServerRequests()


@attrs.frozen
class Config:
    source: str
    listen: tuple[Listener, ...]
    public_url: Optional[str] = None
    admin: Optional[AdminConfig] = None
    tls: TLSConfig = TLSConfig()
    access_control: AccessControl = AccessControl()
    upstreams: UpstreamPolicy = UpstreamPolicy()
    threat_detection: ThreatDetection = ThreatDetection()
    guardrails: tuple[Guardrail, ...] = ()
    audit: AuditConfig = AuditConfig()
    alerts: tuple[Alert, ...] = ()
    channels: Channels = Channels()
    cache: CacheConfig = CacheConfig()
    redis: RedisConfig = RedisConfig()
    limits: Limits = Limits()
    metrics: MetricsConfig = MetricsConfig()
    mcp: McpConfig = McpConfig()
    warnings: tuple[str, ...] = ()
