"""The in-use tag helper against moto's ECR."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from phoenix_aws.helpers.ecr_tags import add_tag, image_in_repository, main, remove_tag

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


@pytest.fixture
def ecr(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        client = boto3.client("ecr", region_name="eu-west-1")
        client.create_repository(repositoryName="shop-prod", imageTagMutability="IMMUTABLE")
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {
                    "digest": "sha256:" + "c" * 64,
                    "size": 1,
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                },
                "layers": [],
            }
        )
        pushed = client.put_image(
            repositoryName="shop-prod", imageManifest=manifest, imageTag="build-0123456789abcdef"
        )
        yield client, pushed["image"]["imageId"]["imageDigest"]


def tags_of(client, digest):
    images = client.describe_images(repositoryName="shop-prod", imageIds=[{"imageDigest": digest}])[
        "imageDetails"
    ]
    return set(images[0].get("imageTags", []))


def test_add_and_remove_the_in_use_tag(ecr):
    client, digest = ecr
    image = f"{REGISTRY}/shop-prod@{digest}"
    assert add_tag(client, "shop-prod", image, "inuse-blue-abc").startswith("tagged")
    assert tags_of(client, digest) == {"build-0123456789abcdef", "inuse-blue-abc"}
    assert remove_tag(client, "shop-prod", image, "inuse-blue-abc") == "removed inuse-blue-abc"
    assert tags_of(client, digest) == {"build-0123456789abcdef"}


def test_adding_twice_is_harmless(ecr):
    client, digest = ecr
    image = f"{REGISTRY}/shop-prod@{digest}"
    add_tag(client, "shop-prod", image, "inuse-green-abc")
    second = add_tag(client, "shop-prod", image, "inuse-green-abc")
    assert "inuse-green-abc" in tags_of(client, digest)
    assert second.startswith(("tagged", "inuse-green-abc already"))


def test_images_of_other_registries_are_left_alone(ecr):
    client, _ = ecr
    foreign = "ghcr.io/phoenix-aws/hello@sha256:" + "0" * 64
    assert (
        add_tag(client, "shop-prod", foreign, "inuse-blue-000")
        == f"{foreign} is not in shop-prod; nothing to tag"
    )
    assert remove_tag(client, "shop-prod", foreign, "inuse-blue-000").endswith("nothing to untag")


def test_repository_membership():
    assert image_in_repository(f"{REGISTRY}/shop-prod@sha256:" + "1" * 64, "shop-prod")
    assert not image_in_repository(f"{REGISTRY}/other@sha256:" + "1" * 64, "shop-prod")
    assert not image_in_repository("shop-prod@sha256:" + "1" * 64, "shop-prod")


def test_usage_error_exits_2(capsys):
    assert main(["tag"]) == 2
    assert "usage" in capsys.readouterr().err


def test_the_in_use_tag_is_set_in_the_stacks_region_not_the_operators(ecr, monkeypatch, capsys):
    """The operator's default Region is another one (us-east-1): the tag still lands on the image
    in the stack's repository, in ECR_REGION; without ECR_REGION the helper refuses to guess."""
    client, digest = ecr
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("ECR_REPOSITORY", "shop-prod")
    monkeypatch.setenv("ECR_IMAGE", f"{REGISTRY}/shop-prod@{digest}")
    monkeypatch.setenv("ECR_TAG", "inuse-blue")
    monkeypatch.delenv("ECR_REGION", raising=False)
    assert main(["add"]) == 2
    assert "ECR_REGION" in capsys.readouterr().err
    monkeypatch.setenv("ECR_REGION", "eu-west-1")
    assert main(["add"]) == 0
    assert "inuse-blue" in tags_of(client, digest)
