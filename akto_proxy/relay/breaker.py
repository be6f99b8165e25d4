"""
Passive health of upstreams: a circuit breaker per upstream origin.

An upstream is C{closed} (used) until C{failures} consecutive failures;
then C{open} (skipped) for a back-off; once the back-off is over the next
request that wants it is its one probe (C{half-open}: other requests still
skip it).  A probe that succeeds closes the circuit; one that fails opens
it again for twice the back-off, up to C{max_open_for}.  Time comes from
the injected clock's C{seconds}.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from akto_proxy.config.model import BreakerSettings

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"
#: the gauge's value per state
STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


class Circuit:
    """
    One upstream's state.

    @ivar failures: consecutive failures (reset by a success).
    @ivar trips: consecutive openings (the back-off doubles with each).
    @ivar probing: a half-open probe is in flight.
    """

    __slots__ = ("state", "failures", "trips", "nextProbe", "probing", "lastError", "lastErrorAt", "total")

    def __init__(self) -> None:
        self.state = CLOSED
        self.failures = 0
        self.trips = 0
        self.nextProbe: Optional[float] = None
        self.probing = False
        self.lastError: Optional[str] = None
        self.lastErrorAt: Optional[float] = None
        self.total = 0

    def asJSON(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "consecutive_failures": self.failures,
            "failures": self.total,
            "last_error": self.lastError,
            "last_error_at": self.lastErrorAt,
            "next_probe": self.nextProbe if self.state != CLOSED else None,
        }


class Breakers:
    """
    The circuits of the upstreams in fallback chains, by origin
    (C{scheme://host[:port]}).  At most C{limit} are kept: an upstream
    named in the configuration has one from its first request on; closed
    circuits without failures are not kept beyond the limit.
    """

    def __init__(self, settings: BreakerSettings, seconds: Callable[[], float], limit: int = 1024):
        self.settings = settings
        self._seconds = seconds
        self._limit = limit
        self.circuits: dict[str, Circuit] = {}

    def _circuit(self, origin: str) -> Circuit:
        circuit = self.circuits.get(origin)
        if circuit is None:
            if len(self.circuits) >= self._limit:
                for name, c in list(self.circuits.items()):
                    if c.state == CLOSED and c.failures == 0:
                        del self.circuits[name]
            circuit = self.circuits[origin] = Circuit()
        return circuit

    def available(self, origin: str) -> bool:
        """
        Would L{acquire} let a request go to C{origin} now?  (Changes
        nothing.)
        """
        circuit = self.circuits.get(origin)
        if circuit is None or circuit.state == CLOSED:
            return True
        return not circuit.probing and circuit.nextProbe is not None and self._seconds() >= circuit.nextProbe

    def acquire(self, origin: str) -> bool:
        """
        May a request go to C{origin} now?  True when the circuit is closed,
        or when its back-off is over and no probe is in flight (this request
        is then the probe: the caller must report L{succeeded}, L{failed}
        or L{released}).
        """
        circuit = self.circuits.get(origin)
        if circuit is None or circuit.state == CLOSED:
            return True
        if circuit.probing:
            return False
        assert circuit.nextProbe is not None
        if self._seconds() < circuit.nextProbe:
            return False
        circuit.state = HALF_OPEN
        circuit.probing = True
        return True

    def retryAfter(self, origin: str) -> float:
        """
        Seconds until C{origin} may be tried again (0: now).
        """
        circuit = self.circuits.get(origin)
        if circuit is None or circuit.state == CLOSED or circuit.nextProbe is None:
            return 0.0
        return max(0.0, circuit.nextProbe - self._seconds())

    def succeeded(self, origin: str) -> None:
        circuit = self.circuits.get(origin)
        if circuit is None:
            return
        circuit.state = CLOSED
        circuit.failures = 0
        circuit.trips = 0
        circuit.probing = False
        circuit.nextProbe = None

    def failed(self, origin: str, error: str) -> bool:
        """
        Count a failure; True when it opened the circuit.
        """
        circuit = self._circuit(origin)
        now = self._seconds()
        circuit.failures += 1
        circuit.total += 1
        circuit.lastError = error
        circuit.lastErrorAt = now
        wasProbe = circuit.state == HALF_OPEN
        circuit.probing = False
        if wasProbe or (circuit.state == CLOSED and circuit.failures >= self.settings.failures):
            s = self.settings
            circuit.state = OPEN
            circuit.nextProbe = now + min(s.max_open_for, s.open_for * 2 ** min(circuit.trips, 32))
            circuit.trips += 1
            return True
        return False

    def released(self, origin: str) -> None:
        """
        A probe that was not made after all (the client went away): the
        next request may probe.
        """
        circuit = self.circuits.get(origin)
        if circuit is not None and circuit.probing:
            circuit.probing = False

    def reconfigure(self, settings: BreakerSettings) -> None:
        self.settings = settings

    def health(self, named: Iterable[str]) -> dict[str, dict[str, Any]]:
        """
        The state of the C{named} upstreams (those of the chains in force;
        closed when nothing failed yet).
        """
        circuits = self.circuits
        return {origin: (circuits.get(origin) or Circuit()).asJSON() for origin in named}


__all__ = ["Breakers", "CLOSED", "Circuit", "HALF_OPEN", "OPEN", "STATE_VALUES"]
