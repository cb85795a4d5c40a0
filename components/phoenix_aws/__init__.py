"""phoenix-aws: Pulumi components that put real-time Elixir/Phoenix applications on AWS.

Installed as the package `phoenix_aws` (this repository's `components/` folder). Each module holds
one concern and never reads stack config, so another program — in Python, or in any language
through `pulumi package add` — uses the components directly (see the README, "Reuse").
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("phoenix-aws")
except PackageNotFoundError:  # pragma: no cover - a checkout used without installing it
    __version__ = "0.0.0"


def public_components() -> list[type]:
    """The components this package offers, in the order the README lists them."""
    from .cluster import Cluster
    from .database import Database
    from .image import AppImage
    from .load_balancer import LoadBalancer, TrafficRouting
    from .migration import Migration
    from .monitoring import Monitoring
    from .network import Network
    from .node_security import NodeSecurityGroup
    from .pubsub import RedisPubSub
    from .release_slot import ReleaseSlot
    from .waf import WebFirewall

    return [
        Network,
        NodeSecurityGroup,
        Database,
        RedisPubSub,
        LoadBalancer,
        TrafficRouting,
        WebFirewall,
        Cluster,
        ReleaseSlot,
        AppImage,
        Migration,
        Monitoring,
    ]
