"""`python -m cost <stack> [--format text|markdown|json] [--traffic-gb N|SERVICE=N ...]
[--compare-to REPORT.json]`: what a stack costs a month before it exists."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from offline.cli import (
    CommandError,
    Parser,
    guarded,
    run_stack,
    show_warnings,
    stack_file_config,
)

from .live import LivePriceError, price_keys, with_live_prices
from .prices import PriceTableError, default_table
from .report import (
    ReportError,
    build_report,
    check_schema,
    render_diff_text,
    render_markdown,
    render_text,
    to_dict,
)
from .rules import DEFAULT_TRAFFIC_GB


def _gb(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"{what}: {text!r} is not a number of GB a month (expected 0 or more, e.g. 50)"
        )
    return value


def traffic_value(text: str) -> tuple[str | None, float]:
    """`N` (every interface endpoint) or `SERVICE=N` (one endpoint service, e.g. ecr.dkr=200)."""
    if "=" in text:
        service, _, amount = text.partition("=")
        if not service.strip():
            raise argparse.ArgumentTypeError(
                f"--traffic-gb {text!r}: the endpoint service before '=' is empty "
                "(expected e.g. ecr.dkr=200)"
            )
        return service.strip(), _gb(amount, f"--traffic-gb {service.strip()}")
    return None, _gb(text, "--traffic-gb")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = Parser(
        prog=PROG,
        description=(
            "Price every resource a stack would create, before it exists: runs the stack program "
            "under the test suite's Pulumi mocks and prices it from cost/prices.yaml "
            "(us-east-1 on-demand list prices, each with its source and date)."
        ),
    )
    parser.add_argument("stack", help="stack name: stacks/Pulumi.<stack>.yaml")
    parser.add_argument(
        "--format",
        choices=["text", "markdown", "json"],
        default="text",
        help="output format (default: text)",
    )
    parser.add_argument(
        "--traffic-gb",
        nargs="+",
        type=traffic_value,
        default=[],
        metavar="N|SERVICE=N",
        help=(
            "GB a month through each interface endpoint (default "
            f"{DEFAULT_TRAFFIC_GB:g}); SERVICE=N sets one endpoint service, e.g. ecr.dkr=200"
        ),
    )
    parser.add_argument(
        "--live-prices",
        action="store_true",
        help=(
            "read the price of every instance class the stack uses from the AWS Price List API "
            "for the stack's Region (needs AWS credentials allowed pricing:GetProducts)"
        ),
    )
    parser.add_argument(
        "--compare-to",
        type=Path,
        metavar="REPORT.json",
        help="a JSON report of the same stack (e.g. from the base branch): show the difference",
    )
    return parser.parse_args(argv)


def _load_comparison(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ReportError(f"--compare-to {path}: cannot read it ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise ReportError(f"--compare-to {path}: not JSON (line {exc.lineno})") from exc
    check_schema(data, f"--compare-to {path}")
    return data


PROG = "python -m cost"


def main(argv: Sequence[str] | None = None) -> int:
    return guarded(PROG, lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    args = parse_args(argv)
    default = DEFAULT_TRAFFIC_GB
    overrides: dict[str, float] = {}
    for service, amount in args.traffic_gb:
        if service is None:
            default = amount
        else:
            overrides[service] = amount
    try:
        compare = _load_comparison(args.compare_to) if args.compare_to else None
        run = run_stack(args.stack)
        show_warnings(run)
        table = default_table()
        live: dict[str, str] = {}
        if args.live_prices:
            region = str(stack_file_config(args.stack)["aws:region"])
            try:
                table, missing = with_live_prices(table, run.resources, region)
            except LivePriceError as exc:
                raise CommandError(f"--live-prices: {exc}") from None
            live = {key: region for key in price_keys(run.resources) if key not in missing}
        report = build_report(
            args.stack,
            run,
            table=table,
            default_traffic_gb=default,
            traffic_overrides=overrides,
        )
        report.live_prices = live
        data = to_dict(report, table)
        if args.format == "json":
            sys.stdout.write(json.dumps(data, indent=2) + "\n")
        elif args.format == "markdown":
            sys.stdout.write(render_markdown(data, compare))
        else:
            if compare is not None:
                sys.stdout.write(render_diff_text(compare, data) + "\n")
            sys.stdout.write(render_text(data))
    except (ReportError, PriceTableError) as exc:
        raise CommandError(str(exc)) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
