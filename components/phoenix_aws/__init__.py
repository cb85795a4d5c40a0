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


def __getattr__(name: str) -> object:
    """`phoenix_aws.PhoenixApp` and its args, imported when first used (the package itself
    stays light for the release command and the settings)."""
    if name in ("PhoenixApp", "PhoenixAppArgs"):
        from . import app, app_args

        return getattr(app if name == "PhoenixApp" else app_args, name)
    raise AttributeError(f"module 'phoenix_aws' has no attribute {name!r}")


def public_components() -> list[type]:
    """The components this package offers, in the order the README lists them."""
    from .app import PhoenixApp
    from .cluster import Cluster
    from .database import Database
    from .image import AppImage
    from .listener_attachment import ListenerAttachment
    from .load_balancer import LoadBalancer, TrafficRouting
    from .migration import Migration
    from .monitoring import Monitoring
    from .network import Network
    from .node_security import NodeSecurityGroup
    from .pubsub import RedisPubSub
    from .release_slot import ReleaseSlot
    from .waf import WebFirewall

    return [
        PhoenixApp,
        Network,
        NodeSecurityGroup,
        Database,
        RedisPubSub,
        LoadBalancer,
        ListenerAttachment,
        TrafficRouting,
        WebFirewall,
        Cluster,
        ReleaseSlot,
        AppImage,
        Migration,
        Monitoring,
    ]
