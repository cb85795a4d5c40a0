"""`phoenix-aws:image`: the ECR repository and the optional build from source."""

from typing import Annotated, Any

from phoenix_aws.app_args import ImageOptions
from phoenix_aws.image import check_build_args, check_build_context
from pydantic import Field, model_validator

from .base import Frozen, field_rule, ruled


class ImageSettings(Frozen):
    """`phoenix-aws:image`: the ECR repository and the optional build from source."""

    context: str | None = None
    """Build context (the Phoenix app, relative to the project). Default: no build."""
    dockerfile: str = "Dockerfile"
    """Relative to `context`."""
    build_args: Annotated[dict[str, str], ruled(check_build_args)] = {}
    """Build args: never secrets (they stay in the image history)."""
    target: str | None = None
    """Multi-stage build target. Default: the last stage."""
    keep_last: int = Field(default=30, ge=1, le=1000)
    """Images kept besides those the slots run."""
    protect: bool = True
    """Pulumi `protect` on the ECR repository."""

    @model_validator(mode="after")
    def _context_exists(self) -> "ImageSettings":
        # Checked now, before any resource: a missing context or Dockerfile must not surface
        # halfway through the program.
        context = self.context
        if context is not None:
            field_rule(("context",), context, lambda: check_build_context(context, self.dockerfile))
        return self

    def options(self, *, cpu_architecture: str) -> ImageOptions:
        """PhoenixApp's `image` section."""
        options = ImageOptions(keep_last=self.keep_last, protect=self.protect)
        if self.context:
            build: dict[str, Any] = {
                "context": self.context,
                "dockerfile": self.dockerfile,
                "build_args": dict(self.build_args),
                "cpu_architecture": cpu_architecture,
            }
            if self.target:
                build["target"] = self.target
            options["build"] = build  # type: ignore[typeddict-item]
        return options
