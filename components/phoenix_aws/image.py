"""AppImage: the stack's ECR repository and, optionally, the app image built and pushed into it.

- The repository has immutable tags, scan on push, and a lifecycle policy that keeps the images
  the slots use (tagged `inuse-…` while a slot runs them) plus the last N builds.
- The build tag is derived from the build context's content, so an unchanged source gives the
  same tag, no rebuild and no redeploy; slots use the pushed image's digest, never a tag.
"""

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_command as command
import pulumi_docker
from docker.utils.build import exclude_paths

from .helpers import helper_command
from .naming import ECR_REPOSITORY_NAME, physical_name
from .validation import check_arg, check_args, check_tags, component_type, with_legacy_alias

IN_USE_TAG_PREFIX = "inuse-"
BUILD_TAG_PREFIX = "build-"
PLATFORMS = {"ARM64": "linux/arm64", "X86_64": "linux/amd64"}


def lifecycle_policy(keep_last: int) -> dict:
    """Keep every image tagged `inuse-…` (rule 1 claims them, so rule 2 never sees them), and
    of the rest only the newest `keep_last`."""
    if keep_last < 1:
        raise ValueError(f"keep_last must be at least 1, got {keep_last}")
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Images a release slot runs: never expire while tagged in use",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPrefixList": [IN_USE_TAG_PREFIX],
                    "countType": "imageCountMoreThan",
                    "countNumber": 10000,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Everything else: keep the newest {keep_last}",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_last,
                },
                "action": {"type": "expire"},
            },
        ]
    }


def _dockerignore_patterns(context: Path) -> list[str]:
    ignore = context / ".dockerignore"
    if not ignore.exists():
        return []
    lines = (line.strip() for line in ignore.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def check_build_context(context: str, dockerfile: str = "Dockerfile") -> str:
    """The build context is a directory holding the Dockerfile (relative paths are relative to
    where `pulumi up` runs: the project directory). A path the file system cannot even look up
    (too long, a NUL byte) is refused the same way, never with a traceback."""
    root = Path(context)
    if not _exists(root.is_dir):
        raise ValueError(
            f"the directory {context!r} does not exist (paths are relative to the project)"
        )
    path = Path(dockerfile) if os.path.isabs(dockerfile) else root / dockerfile
    if not _exists(path.is_file):
        raise ValueError(f"there is no Dockerfile at {path.as_posix()!r}")
    return context


def _exists(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except (OSError, ValueError):  # ENAMETOOLONG, an embedded NUL byte
        return False


# Build args stay readable in the image's history: secrets never go there.
# https://docs.docker.com/reference/build-checks/secrets-used-in-arg-or-env/
_SECRET_ARG = re.compile(r"SECRET|PASSWORD|TOKEN|KEY_BASE|COOKIE|PRIVATE|CREDENTIAL|(_|^)KEY$")


def check_build_args(build_args: dict[str, str]) -> dict[str, str]:
    for key in build_args:
        if _SECRET_ARG.search(key.upper()):
            raise ValueError(
                f"{key!r} looks like a secret; build args stay in the image history, so pass "
                "secrets at run time (app secrets) instead"
            )
    return build_args


def check_image_reference(image: str) -> str:
    """An image pinned by digest (`<registry>/<repository>@sha256:<64 hex>`), so a slot never
    changes under a moving tag."""
    if not re.fullmatch(r"[a-z0-9.:/_-]+(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}", image):
        raise ValueError(
            "expected an image pinned by digest, e.g. "
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:<64 hex>"
        )
    return image


def content_tag(context: str, dockerfile: str, build_args: dict[str, str], platform: str) -> str:
    """`build-<16 hex>`: a hash of every file Docker would send as the build context (the
    `.dockerignore` rules applied by docker-py, as the Docker CLI applies them), the
    Dockerfile, the build args and the platform."""
    check_build_context(context, dockerfile)
    root = Path(context)
    digest = hashlib.sha256()
    included = exclude_paths(str(root), _dockerignore_patterns(root), dockerfile=dockerfile)
    for relative in sorted(included):
        path = root / relative
        if not path.is_file():
            continue
        digest.update(Path(relative).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    dockerfile_path = Path(dockerfile) if os.path.isabs(dockerfile) else root / dockerfile
    digest.update(b"dockerfile\0" + dockerfile_path.read_bytes())
    digest.update(json.dumps({"args": build_args, "platform": platform}, sort_keys=True).encode())
    return f"{BUILD_TAG_PREFIX}{digest.hexdigest()[:16]}"


def in_use_tag(slot: str, image: str) -> str:
    """`inuse-<slot>-<first 12 hex of the digest>` for an image reference pinned by digest."""
    digest = image.rsplit("@sha256:", 1)[-1]
    return f"{IN_USE_TAG_PREFIX}{slot}-{digest[:12]}"


class ImageBuild(TypedDict):
    """Build the app image from source."""

    context: str
    """Build context directory (the Phoenix app)."""
    dockerfile: NotRequired[str]
    """Dockerfile path, relative to `context`. Default: `Dockerfile`."""
    build_args: NotRequired[dict[str, str]]
    """Build args (never secrets: they end up in the image history). Default: none."""
    cpu_architecture: NotRequired[str]
    """`ARM64` or `X86_64`; the image platform. Default: `ARM64`."""
    target: NotRequired[str]
    """Multi-stage target. Default: the last stage."""


class AppImageArgs(TypedDict):
    """Inputs of an AppImage."""

    name_parts: list[str]
    """Parts of the repository name, e.g. [project, stack]."""
    build: NotRequired[ImageBuild]
    """Build and push the image. Default: no build (slots use prebuilt references)."""
    keep_last: NotRequired[int]
    """Untagged-in-use images to keep. Default: 30."""
    pinned_images: NotRequired[dict[str, pulumi.Input[str]]]
    """slot → image reference the slot runs; images in this repository get an `inuse-` tag
    while the slot uses them, so the lifecycle policy keeps them. Default: none."""
    protect: NotRequired[bool]
    """Pulumi `protect` on the repository. Unprotected, the repository is deleted with its images
    when the stack is destroyed (AWS refuses to delete a non-empty one otherwise). Default: true."""
    tags: NotRequired[dict[str, str]]
    """Tags for the repository. Default: none."""


class AppImage(pulumi.ComponentResource):
    """ECR repository + optional build/push of the app image, pinned by digest."""

    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    image: pulumi.Output[str | None]
    """The built image pinned by digest (`repo@sha256:…`); None without a build."""
    tag: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: AppImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            component_type("AppImage"), name, None, with_legacy_alias("AppImage", opts)
        )
        check_app_image_args(name, args)
        tags = dict(args.get("tags") or {})
        repo_name = physical_name(*args["name_parts"], rule=ECR_REPOSITORY_NAME)

        self._create_repository(name, repo_name, args, tags)
        self.image = pulumi.Output.from_input(None)
        self.tag = pulumi.Output.from_input(None)
        build = args.get("build")
        if build:
            self._build_and_push(name, build)
        self._mark_images_in_use(name, repo_name, args.get("pinned_images") or {})
        self.repository_url = self.repository.repository_url
        self.repository_arn = self.repository.arn
        self.register_outputs(
            {
                "repository_url": self.repository_url,
                "repository_arn": self.repository_arn,
                "image": self.image,
                "tag": self.tag,
            }
        )

    def _create_repository(
        self, name: str, repo_name: str, args: AppImageArgs, tags: dict[str, str]
    ) -> None:
        """The ECR repository (immutable tags, scanned on push; protected unless switched off)
        and its lifecycle policy."""
        self.repository = aws.ecr.Repository(
            f"{name}-repo",
            name=repo_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "AES256"}],
            force_delete=not args.get("protect", True),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.get("protect", True)),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=self.repository.name,
            policy=json.dumps(lifecycle_policy(args.get("keep_last", 30))),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _build_and_push(self, name: str, build: ImageBuild) -> None:
        """Build the image for the slots' platform, tagged by its content, and push it; the
        image output is pinned by digest."""
        dockerfile = build.get("dockerfile", "Dockerfile")
        build_args = dict(build.get("build_args") or {})
        platform = PLATFORMS[build.get("cpu_architecture", "ARM64")]
        tag = content_tag(build["context"], dockerfile, build_args, platform)
        token = aws.ecr.get_authorization_token_output(
            registry_id=self.repository.registry_id,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.built = pulumi_docker.Image(
            f"{name}-build",
            image_name=self.repository.repository_url.apply(lambda url: f"{url}:{tag}"),
            build={
                "context": build["context"],
                "dockerfile": str(Path(build["context"]) / dockerfile),
                "platform": platform,
                "args": build_args,
                **({"target": build["target"]} if build.get("target") else {}),
            },
            registry={
                "server": self.repository.repository_url,
                "username": token.user_name,
                "password": pulumi.Output.secret(token.password),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image = self.built.repo_digest
        self.tag = pulumi.Output.from_input(tag)

    def _mark_images_in_use(
        self, name: str, repo_name: str, pinned_images: dict[str, pulumi.Input[str]]
    ) -> None:
        """Tag each pinned image of this repository as in use by its slot, so the lifecycle
        policy never expires an image a slot runs. The helper runs on the operator's machine,
        whose default Region may be another one: it gets the stack's Region explicitly."""
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        for slot, image in pinned_images.items():
            if isinstance(image, str) and not image.split("@")[0].endswith(f"/{repo_name}"):
                continue  # another registry's image: ECR's lifecycle policy never touches it
            command.local.Command(
                f"{name}-inuse-{slot}",
                create=helper_command("ecr_tags", "add"),
                delete=helper_command("ecr_tags", "remove"),
                environment={
                    "ECR_REPOSITORY": self.repository.name,
                    "ECR_REGION": region,
                    "ECR_IMAGE": image,
                    "ECR_TAG": pulumi.Output.from_input(image).apply(
                        functools.partial(in_use_tag, slot)
                    ),
                },
                triggers=[image],
                opts=pulumi.ResourceOptions(parent=self),
            )


def check_app_image_args(name: str, args: AppImageArgs) -> None:
    check_args("AppImage", name, args, AppImageArgs)
    build = args.get("build")
    if build:
        dockerfile = build.get("dockerfile", "Dockerfile")
        check_arg(
            "AppImage",
            name,
            "build.context",
            build["context"],
            lambda c: check_build_context(c, dockerfile),
        )
        check_arg("AppImage", name, "build.build_args", build.get("build_args"), check_build_args)
    for slot, image in (args.get("pinned_images") or {}).items():
        check_arg("AppImage", name, f"pinned_images.{slot}", image, check_image_reference)
    check_arg("AppImage", name, "tags", args.get("tags"), check_tags)
