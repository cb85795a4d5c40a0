"""Tag (or untag) the image a slot runs as `inuse-…` so ECR's lifecycle policy keeps it.

`python -m phoenix_aws.helpers.ecr_tags add|remove`, with ECR_REPOSITORY, ECR_IMAGE
(`…@sha256:<hex>`), ECR_TAG and ECR_REGION (the stack's Region: never the operator's default,
which may be another one) in the environment, set by the AppImage component through
pulumi-command. Images from another registry or repository are left alone.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def image_in_repository(image: str, repository: str) -> bool:
    """True when `image` (`<registry>/<repository>@sha256:…`) lives in `repository`."""
    name = image.split("@", 1)[0].split(":", 1)[0] if "@" in image else image
    path = name.split("/", 1)[1] if "/" in name else name
    return ".dkr.ecr." in name and path == repository


def add_tag(ecr: Any, repository: str, image: str, tag: str) -> str:
    if not image_in_repository(image, repository):
        return f"{image} is not in {repository}; nothing to tag"
    digest = "sha256:" + image.rsplit("@sha256:", 1)[1]
    found = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageDigest": digest}])
    if not found.get("images"):
        raise LookupError(f"{digest} not found in {repository}")
    manifest = found["images"][0]
    try:
        ecr.put_image(
            repositoryName=repository,
            imageManifest=manifest["imageManifest"],
            **(
                {"imageManifestMediaType": manifest["imageManifestMediaType"]}
                if manifest.get("imageManifestMediaType")
                else {}
            ),
            imageTag=tag,
            imageDigest=digest,
        )
    except ecr.exceptions.ImageAlreadyExistsException:
        return f"{tag} already on {digest}"
    return f"tagged {digest} as {tag}"


def remove_tag(ecr: Any, repository: str, image: str, tag: str) -> str:
    if not image_in_repository(image, repository):
        return f"{image} is not in {repository}; nothing to untag"
    # Deleting by tag removes only the tag while the image keeps others (its build tag).
    result = ecr.batch_delete_image(repositoryName=repository, imageIds=[{"imageTag": tag}])
    return f"removed {tag}" if result.get("imageIds") else f"{tag} was not present"


def main(argv: list[str]) -> int:
    import boto3

    if len(argv) != 1 or argv[0] not in ("add", "remove"):
        print("usage: python -m phoenix_aws.helpers.ecr_tags add|remove", file=sys.stderr)
        return 2
    env = os.environ
    needed = ("ECR_REPOSITORY", "ECR_IMAGE", "ECR_TAG", "ECR_REGION")
    missing = [key for key in needed if not env.get(key)]
    if missing:
        print(f"phoenix-aws: missing environment: {', '.join(missing)}", file=sys.stderr)
        return 2
    ecr = boto3.client("ecr", region_name=env["ECR_REGION"])
    action = add_tag if argv[0] == "add" else remove_tag
    print(action(ecr, env["ECR_REPOSITORY"], env["ECR_IMAGE"], env["ECR_TAG"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
