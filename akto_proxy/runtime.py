"""
Everything derived from one configuration generation: keys, roles, rate
limits, the inspection chain, the pipeline of stages, the upstream address
policy.  A reload builds a new L{Runtime}; each new request (and each new
message on an open stream or socket) takes the newest.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import attrs

from akto_proxy.access.keys import KeyRing
from akto_proxy.access.ratelimit import IRateStore, MemoryStore, RateLimits
from akto_proxy.access.roles import Policy
from akto_proxy.config import Config
from akto_proxy.config.model import McpConfig
from akto_proxy.inspect.chain import Chain
from akto_proxy.inspect.checks import buildInspectors
from akto_proxy.inspect.checks.prefilter import Prefilter, buildPrefilter
from akto_proxy.mcp.pipeline import Pipeline
from akto_proxy.mcp.stages import buildPipeline
from akto_proxy.relay.fence import AddressPolicy, ownAddresses, parseIP
from akto_proxy.relay.fallback import Fallbacks
from akto_proxy.relay.http import ClientSettings


@attrs.frozen
class Runtime:
    """
    Everything derived from one configuration generation.
    """

    config: Config
    generation: int
    keys: KeyRing
    chain: Chain
    policy: AddressPolicy
    roles: Policy
    rates: RateLimits
    pipeline: Pipeline

    @functools.cached_property
    def ipAllowed(self) -> Callable[[str], bool]:
        """
        Is a client at an address in C{ip_allowlist}?  Remembered per
        address (the last 4,096) for this configuration: clients come back,
        and a memo keyed by the allowlist too would hash its networks (in
        Python) on every request.
        """
        nets = self.config.access_control.ip_allowlist
        return functools.lru_cache(maxsize=4096)(lambda address: _inAllowlist(address, nets))

    @functools.cached_property
    def fallbacks(self) -> Fallbacks:
        """
        The fallback chains of C{upstreams.fallbacks}.
        """
        return Fallbacks(self.config.upstreams.fallbacks)

    @functools.cached_property
    def clientSettings(self) -> ClientSettings:
        tls = self.config.tls.upstream
        return ClientSettings(
            policy=self.policy,
            connectTimeout=self.config.upstreams.connect_timeout,
            tlsMinimum=tls.min_version,
            caBundle=tls.ca_bundle,
            verify=tls.verify,
        )



def _inAllowlist(address: str, nets: tuple[Any, ...]) -> bool:
    """
    Is C{address} in one of C{nets}?
    """
    addr = parseIP(address)
    return addr is not None and any(addr in net for net in nets if net.version == addr.version)


@functools.lru_cache(maxsize=1)
def _inspectors(
    threats: Any, guardrails: Any, injection: Any, reactor: Any, threads: Any = None
) -> tuple[tuple[Any, ...], Optional[Prefilter]]:
    """
    Compiling the pattern databases takes about a second: a reload that does
    not change the checks (and every test that uses the same ones) reuses
    them, with the prefilter over them.  The inspectors hold no per-message
    state.  Only the last are kept: a reload that changes the checks lets
    the old databases go (9 MiB with the sample's checks) once the messages
    and streams of the old generation are done; building them again from
    the database cache takes milliseconds.
    """
    config = Config(source="", listen=(), threat_detection=threats, guardrails=guardrails, mcp=McpConfig(prompt_injection=injection))
    steps = tuple(buildInspectors(config, reactor, threads))
    prefilter = buildPrefilter(steps)
    # what the prefilter's databases did not take over is compiled now, not
    # on the first message (ThreatInspector.prepare)
    for step in steps:
        prepare = getattr(step, "prepare", None)
        if prepare is not None:
            prepare()
    return steps, prefilter


def buildRuntime(
    config: Config,
    generation: int,
    reactor: Any,
    own: tuple[tuple[str, int], ...] = (),
    rateStore: Optional[IRateStore] = None,
    clock: Any = None,
    state: Any = None,
    cache: Any = None,
    threads: Any = None,
) -> Runtime:
    """
    @param reactor: delivers the checks' results from their threads.
    @param clock: times inspection timeouts and rate windows (the reactor
        unless given).
    @param state: what the MCP protections keep across generations (pins,
        poisoned tools: L{akto_proxy.mcp.protections.McpState}).
    @param cache: the response cache (L{akto_proxy.mcp.cache.
        ResponseCache}), whose invalidation the pipeline runs.
    @param threads: the pool that inspects large messages (L{akto_proxy.
        inspect.checks.offload.inspectionPool}, the service's); the
        reactor's when None.
    """
    clock = clock if clock is not None else reactor
    inspectors, prefilter = _inspectors(
        config.threat_detection, config.guardrails, config.mcp.prompt_injection, reactor, threads
    )
    chain = Chain(inspectors, clock, config.threat_detection.inspection_timeout, prefilter)
    roles = Policy.fromConfig(config.access_control)
    rates = RateLimits.fromConfig(
        config.guardrails, rateStore if rateStore is not None else MemoryStore(), clock, config.threat_detection.mode
    )
    return Runtime(
        config=config,
        generation=generation,
        keys=KeyRing(config.access_control),
        chain=chain,
        policy=AddressPolicy(allowPrivate=config.upstreams.allow_private, own=ownAddresses(own)),
        roles=roles,
        rates=rates,
        pipeline=buildPipeline(config, chain, roles, rates, state, cache),
    )


__all__ = ["Runtime", "buildRuntime"]
