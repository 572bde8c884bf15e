"""Traffic splits: az's `--traffic "blue=90 green=10"` text and the rules every compute enforces on it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mlk.errors import ConflictError, UsageError


def parse_traffic(text: str, option: str = "--traffic") -> dict[str, int]:
    """`blue=90 green=10` (az's form; commas work too) → {"blue": 90, "green": 10}."""
    shares: dict[str, int] = {}
    for part in text.replace(",", " ").split():
        name, sep, value = part.partition("=")
        if not sep or not value.strip().isdigit():
            raise UsageError(f"{option} '{text}': expected NAME=PERCENT pairs", hint=f'{option} "blue=90 green=10"')
        shares[name.strip()] = int(value)
    return shares


def check_traffic(deployments: Iterable[str], traffic: Mapping[str, int], mirror: Mapping[str, int]) -> None:
    """Refuse a split Azure would refuse: unknown names, a sum other than 0/100, a mirror above 50% or
    on a deployment that also takes live traffic."""
    live = set(deployments)
    for field, shares in (("traffic", traffic), ("mirror_traffic", mirror)):
        unknown = sorted(set(shares) - live)
        if unknown:
            raise UsageError(
                f"{field} names deployments that do not exist: {', '.join(unknown)}",
                hint=f"deployments of this endpoint: {', '.join(sorted(live)) or 'none yet'}",
            )
    total = sum(traffic.values())
    if traffic and total not in (0, 100):
        raise UsageError(f"traffic sums to {total}; it must be 0 or 100")
    if len(mirror) > 1 or any(v > 50 for v in mirror.values()):
        raise UsageError("mirror traffic goes to one deployment, at most 50 percent")
    for name, share in mirror.items():
        if share and traffic.get(name, 0):
            raise UsageError(f"'{name}' gets live traffic; a deployment receives live or mirrored traffic, not both")


def check_deletable(name: str, endpoint: str, traffic: Mapping[str, int], mirror: Mapping[str, int]) -> None:
    """A deployment that still takes a share of the traffic, or of the mirrored traffic, stays (as Azure
    refuses it); `traffic` and `mirror` are keyed as the endpoint stores them, `name` already matched."""
    for shares, what, flag in ((traffic, "traffic", "--traffic"), (mirror, "mirror traffic", "--mirror-traffic")):
        share = int(shares.get(name, 0))
        if share:
            raise ConflictError(
                f"deployment '{name}' still gets {share}% of the {what} of '{endpoint}'",
                hint=f'move it first: mlk online-endpoint update -n {endpoint} {flag} "{name}=0 ..."',
            )
