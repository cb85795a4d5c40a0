"""AppImage: the ECR repository, its lifecycle policy, content-derived builds, in-use tags."""

from __future__ import annotations

import json
from pathlib import Path

import harness
import pytest
from phoenix_aws.image import AppImage, content_tag, in_use_tag, lifecycle_policy

EXAMPLE = str(harness.ROOT / "examples" / "phoenix_app")
DIGEST_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-prod@sha256:" + "d" * 64


def image(**args):
    return harness.run(lambda: AppImage("img", {"name_parts": ["shop", "prod"], **args}))


def test_repository_is_immutable_scanned_encrypted_and_protected():
    repo = image().named("img-repo")
    assert repo["name"] == "shop-prod"
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
    assert repo["forceDelete"] is False
    assert repo.protect is True


def test_lifecycle_keeps_in_use_images_and_the_last_n():
    policy = json.loads(image(keep_last=12).named("img-lifecycle")["policy"])
    first, second = policy["rules"]
    assert first["rulePriority"] < second["rulePriority"]
    assert first["selection"]["tagPrefixList"] == ["inuse-"]
    assert first["selection"]["countNumber"] >= 10000
    assert second["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 12,
    }


def test_lifecycle_policy_rejects_keeping_nothing():
    with pytest.raises(ValueError):
        lifecycle_policy(0)


def test_no_build_without_a_context():
    assert image().of_type("docker:index/image:Image") == []


def test_build_pushes_a_content_tagged_image_for_the_slot_architecture():
    run = image(
        build={"context": EXAMPLE, "build_args": {"MIX_ENV": "prod"}, "cpu_architecture": "ARM64"}
    )
    (built,) = run.of_type("docker:index/image:Image")
    tag = content_tag(EXAMPLE, "Dockerfile", {"MIX_ENV": "prod"}, "linux/arm64")
    assert built["imageName"] == f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-prod:{tag}"
    assert built["build"]["platform"] == "linux/arm64"
    assert built["build"]["args"] == {"MIX_ENV": "prod"}
    assert built["build"]["dockerfile"].endswith("examples/phoenix_app/Dockerfile")


def test_build_registry_password_is_a_secret():
    run = image(build={"context": EXAMPLE})
    (built,) = run.of_type("docker:index/image:Image")
    assert harness.contains_secret_marker(built.raw_inputs["registry"])


def test_x86_builds_target_amd64():
    (built,) = image(build={"context": EXAMPLE, "cpu_architecture": "X86_64"}).of_type(
        "docker:index/image:Image"
    )
    assert built["build"]["platform"] == "linux/amd64"


def test_the_built_image_is_exposed_pinned_by_digest():
    def program():
        built = AppImage("img", {"name_parts": ["shop", "prod"], "build": {"context": EXAMPLE}})
        harness.pulumi.export("image", built.image)

    assert "@sha256:" in harness.run(program).exports["image"]


def make_context(tmp_path: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


def test_content_tag_is_stable_for_unchanged_source(tmp_path):
    ctx = make_context(tmp_path, {"Dockerfile": "FROM x", "lib/a.ex": "a"})
    assert content_tag(ctx, "Dockerfile", {}, "linux/arm64") == content_tag(
        ctx, "Dockerfile", {}, "linux/arm64"
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda p: (p / "lib/a.ex").write_text("b"),
        lambda p: (p / "lib/new.ex").write_text("n"),
        lambda p: (p / "Dockerfile").write_text("FROM y"),
    ],
)
def test_content_tag_changes_with_the_source(tmp_path, change):
    ctx = make_context(tmp_path, {"Dockerfile": "FROM x", "lib/a.ex": "a"})
    before = content_tag(ctx, "Dockerfile", {}, "linux/arm64")
    change(tmp_path)
    assert content_tag(ctx, "Dockerfile", {}, "linux/arm64") != before


def test_content_tag_changes_with_args_and_platform(tmp_path):
    ctx = make_context(tmp_path, {"Dockerfile": "FROM x"})
    base = content_tag(ctx, "Dockerfile", {}, "linux/arm64")
    assert content_tag(ctx, "Dockerfile", {"A": "1"}, "linux/arm64") != base
    assert content_tag(ctx, "Dockerfile", {}, "linux/amd64") != base


def test_content_tag_ignores_dockerignored_files(tmp_path):
    ctx = make_context(
        tmp_path, {"Dockerfile": "FROM x", ".dockerignore": "_build/\n*.log\n", "lib/a.ex": "a"}
    )
    before = content_tag(ctx, "Dockerfile", {}, "linux/arm64")
    make_context(tmp_path, {"_build/prod/x.beam": "junk", "debug.log": "noise"})
    assert content_tag(ctx, "Dockerfile", {}, "linux/arm64") == before


def test_in_use_images_are_tagged_while_a_slot_runs_them():
    run = image(pinned_images={"blue": DIGEST_IMAGE})
    (tagger,) = run.of_type("command:local:Command")
    assert tagger["create"].endswith("-m phoenix_aws.helpers.ecr_tags add")
    assert tagger["delete"].endswith("-m phoenix_aws.helpers.ecr_tags remove")
    assert (
        tagger["environment"]["ECR_TAG"]
        == in_use_tag("blue", DIGEST_IMAGE)
        == "inuse-blue-dddddddddddd"
    )
    assert tagger["environment"]["ECR_IMAGE"] == DIGEST_IMAGE
    assert tagger["triggers"] == [DIGEST_IMAGE]


def test_program_builds_only_when_the_stack_has_a_context(run_stack):
    assert len(run_stack("dev").of_type("docker:index/image:Image")) == 1
    assert run_stack("prod").of_type("docker:index/image:Image") == []
    assert run_stack("local").of_type("docker:index/image:Image") == []


def test_dev_live_slot_runs_the_built_digest(run_stack):
    run = run_stack("dev")
    (definition,) = json.loads(run.named("slot-blue-task")["containerDefinitions"])
    assert definition["image"] == run.exports["built_image"]
    assert "@sha256:" in definition["image"]


def test_execution_role_pulls_only_from_the_stack_repository(run_stack):
    policy = json.loads(run_stack("prod").named("cluster-execution-policy")["policy"])
    pull = next(s for s in policy["Statement"] if s["Sid"] == "PullImages")
    assert pull["Resource"] == [harness.mock_arn("aws:ecr/repository:Repository", "image-repo")]
