"""Build a stack's cost report and render it as text, Markdown or JSON; compare two reports."""

from __future__ import annotations

from collections import Counter
from typing import Any

from offline import mocks

from .model import Report
from .prices import PriceTable, default_table
from .rules import DEFAULT_TRAFFIC_GB, USAGE_CATALOG, price_run

SCHEMA = 1
"""Version of the JSON shape; `--compare-to` refuses a report of another shape."""


class ReportError(ValueError):
    """Bad input for a report (unknown stack, unreadable comparison file), said plainly."""


def build_report(
    stack: str,
    run: mocks.Run,
    *,
    table: PriceTable | None = None,
    default_traffic_gb: float = DEFAULT_TRAFFIC_GB,
    traffic_overrides: dict[str, float] | None = None,
) -> Report:
    """Price a recorded run of `stack` (its region is read from the stack file)."""
    from local.emulator import emulator_url

    config = mocks.stack_config(stack) if stack in mocks.stack_names() else {}
    region = config.get("aws:region")
    report = price_run(
        run,
        table or default_table(),
        stack=stack,
        deploy_region=str(region) if region else None,
        default_traffic_gb=default_traffic_gb,
        traffic_overrides=traffic_overrides,
    )
    report.emulator = emulator_url(config)
    return report


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _unit_price(key: str | None, unit: str, table: PriceTable) -> str:
    if key is None:
        return "rate not in the price table"
    price = table.get(key)
    if price is None:
        return "rate not in the price table"
    return f"${price.usd:g} per {unit}"


def to_dict(report: Report, table: PriceTable | None = None) -> dict[str, Any]:
    """The report as plain data (the JSON format; `--compare-to` reads it back)."""
    table = table or default_table()
    return {
        "schema": SCHEMA,
        "stack": report.stack,
        "deploy_region": report.deploy_region,
        "price_region": report.price_region,
        "hours_per_month": report.hours_per_month,
        "traffic_gb": {"default": report.default_traffic_gb, **report.traffic_overrides},
        "total_monthly_usd": round(report.total, 2),
        "emulator": report.emulator,
        "live_prices": report.live_prices,
        "aws_equivalent_monthly_usd": round(report.aws_equivalent, 2),
        "public_ipv4": report.public_ipv4(),
        "lines": [
            {
                "resource": line.resource,
                "type": line.type,
                "what": line.what,
                "monthly_usd": round(line.monthly, 2),
                "charges": [
                    {
                        "label": c.label,
                        "quantity": round(c.quantity, 6),
                        "unit": c.unit,
                        "price_key": c.price_key,
                        "unit_usd": c.unit_usd,
                        "monthly_usd": round(c.monthly, 2),
                    }
                    for c in line.charges
                ],
            }
            for line in report.lines
        ],
        "unpriced": [
            {"resource": u.resource, "type": u.type, "reason": u.reason} for u in report.unpriced
        ],
        "usage_based": [
            {
                "name": u.name,
                "unit_price": _unit_price(u.price_key, u.unit, table),
                "resources": u.resources,
                "note": u.note,
            }
            for u in report.usage
        ],
        "findings": [
            {
                "resource": f.resource,
                "message": f.message,
                "monthly_waste_usd": None if f.monthly_waste is None else round(f.monthly_waste, 2),
                "break_even_gb": None if f.break_even_gb is None else round(f.break_even_gb, 1),
            }
            for f in report.findings
        ],
        "interface_endpoints": [
            {
                "resource": e.resource,
                "service": e.service,
                "azs": e.azs,
                "monthly_usd": round(e.monthly, 2),
                "traffic_gb": e.traffic_gb,
                "break_even_gb": None if e.break_even_gb is None else round(e.break_even_gb, 1),
                "verdict": e.verdict,
            }
            for e in report.endpoints
        ],
        "usage_only": [
            {"resource": f.resource, "type": f.type, "reason": f.reason} for f in report.usage_only
        ],
        "free": [{"resource": f.resource, "type": f.type, "reason": f.reason} for f in report.free],
    }


def _emulator_note(data: dict[str, Any]) -> str:
    """Why an emulator stack costs nothing, and what the same resources would cost in AWS."""
    return (
        f"$0 a month: every AWS service of this stack is sent to an emulator on this machine "
        f"(aws:endpoints: {data['emulator']}), so nothing is created in an AWS account and "
        f"nothing is billed. The same resources in AWS would cost "
        f"{_money(data['aws_equivalent_monthly_usd'])} a month in fixed charges (listed below "
        f"for comparison, not billed)."
    )


def _heading(data: dict[str, Any]) -> tuple[str, str]:
    title = f"Cost of stack `{data['stack']}` before it exists"
    if data.get("emulator"):
        return title, _emulator_note(data)
    basis = (
        f"Fixed monthly charges at {data['price_region']} on-demand list prices, "
        f"{data['hours_per_month']} h a month, free tier not applied."
    )
    live = data.get("live_prices") or {}
    region = data.get("deploy_region")
    if live:
        basis += (
            f" Read from the AWS Price List API for {', '.join(sorted(set(live.values())))}: "
            f"{', '.join(sorted(live))}."
        )
    if region and region != data["price_region"] and set(live.values()) != {region}:
        basis += (
            f" The stack deploys to {region}: prices there differ (most are higher); "
            f"the table holds {data['price_region']} prices only."
        )
    return title, basis


def _traffic_text(data: dict[str, Any]) -> str:
    traffic = dict(data["traffic_gb"])
    default = traffic.pop("default")
    extra = ", ".join(f"{k}: {v:g}" for k, v in traffic.items())
    return (
        f"{default:g} GB/month through each interface endpoint"
        + (f" ({extra})" if extra else "")
        + " (set with --traffic-gb)"
    )


def _free_summary(data: dict[str, Any], key: str = "free") -> list[tuple[str, int, str]]:
    counts = Counter((f["type"], f["reason"]) for f in data[key])
    return sorted(((t, n, reason) for (t, reason), n in counts.items()), key=lambda x: x[0])


def render_text(data: dict[str, Any]) -> str:
    title, basis = _heading(data)
    out = [title, basis, "", "Fixed monthly charges"]
    width = max([len(line["resource"]) for line in data["lines"]] + [8])
    for line in sorted(data["lines"], key=lambda x: -x["monthly_usd"]):
        out.append(f"  {line['resource']:<{width}}  {line['monthly_usd']:>10,.2f}  {line['what']}")
        for c in line["charges"]:
            out.append(
                f"  {'':<{width}}  {c['monthly_usd']:>10,.2f}    {c['label']}: "
                f"{c['quantity']:,.6g} x ${c['unit_usd']:g}"
            )
    if data.get("emulator"):
        out.append(
            f"  {'in AWS':<{width}}  {data['aws_equivalent_monthly_usd']:>10,.2f}  "
            "USD per month (not billed: an emulator)"
        )
    out.append(f"  {'TOTAL':<{width}}  {data['total_monthly_usd']:>10,.2f}  USD per month")
    if data["unpriced"]:
        out.append(
            f"  (plus {len(data['unpriced'])} fixed charge(s) not priced, listed below: "
            "the real total is higher)"
        )
    ipv4 = data["public_ipv4"]
    out += [
        "",
        f"Public IPv4 addresses: {sum(ipv4.values())}"
        + (" (" + ", ".join(f"{k}: {v}" for k, v in ipv4.items()) + ")" if ipv4 else ""),
        "",
        "Not priced (a fixed charge exists but no confirmed price is in the table; never guessed)",
    ]
    out += [f"  {u['resource']}: {u['reason']}" for u in data["unpriced"]] or ["  (none)"]
    out += ["", "Usage-based charges left out of the total"]
    for u in data["usage_based"]:
        note = f" ({u['note']})" if u.get("note") else ""
        out.append(f"  {u['name']}: {u['unit_price']}{note}; {', '.join(u['resources'])}")
    out += ["", f"Defaults that waste money (assumed traffic: {_traffic_text(data)})"]
    out += [f"  {f['resource']}: {f['message']}" for f in data["findings"]] or ["  (none)"]
    if data["interface_endpoints"]:
        out += ["", "Interface endpoints against NAT data processing"]
        for e in data["interface_endpoints"]:
            out.append(f"  {e['resource']} ({e['service']}, {e['azs']} AZs): {e['verdict']}")
    out += ["", f"No fixed charge, usage-based only: {len(data['usage_only'])} resources"]
    out += [f"  {f['resource']} ({f['type']}): {f['reason']}" for f in data["usage_only"]]
    out += ["", f"Free (no AWS charge): {len(data['free'])} resources"]
    out += [f"  {n} x {t}: {reason}" for t, n, reason in _free_summary(data)]
    return "\n".join(out) + "\n"


def render_markdown(data: dict[str, Any], compare: dict[str, Any] | None = None) -> str:
    title, basis = _heading(data)
    out = [f"### {title}", "", basis, ""]
    if compare is not None:
        out += [render_diff_markdown(compare, data), ""]
    unpriced_note = (
        f" plus {len(data['unpriced'])} fixed charge(s) not priced (listed below)"
        if data["unpriced"]
        else ""
    )
    out += [
        f"**Fixed total: {_money(data['total_monthly_usd'])} per month**{unpriced_note}",
        "",
        "| resource | what | $/month | how |",
        "|---|---|---:|---|",
    ]
    for line in sorted(data["lines"], key=lambda x: -x["monthly_usd"]):
        how = "<br>".join(
            f"{c['label']}: {c['quantity']:,.6g} x ${c['unit_usd']:g}" for c in line["charges"]
        )
        out.append(
            f"| `{line['resource']}` | {line['what']} | {line['monthly_usd']:,.2f} | {how} |"
        )
    out.append(f"| **total** | | **{data['total_monthly_usd']:,.2f}** | |")
    ipv4 = data["public_ipv4"]
    out += [
        "",
        f"Public IPv4 addresses: {sum(ipv4.values())}"
        + (" (" + ", ".join(f"`{k}`: {v}" for k, v in ipv4.items()) + ")" if ipv4 else ""),
        "",
        "**Not priced** (a fixed charge exists but no confirmed price is in the table):",
        "",
    ]
    out += [f"- `{u['resource']}`: {u['reason']}" for u in data["unpriced"]] or ["- none"]
    out += ["", "**Usage-based charges left out of the total:**", ""]
    for u in data["usage_based"]:
        note = f" ({u['note']})" if u.get("note") else ""
        resources = ", ".join(f"`{r}`" for r in u["resources"])
        out.append(f"- {u['name']}: {u['unit_price']}{note}; {resources}")
    out += ["", f"**Defaults that waste money** (assumed: {_traffic_text(data)}):", ""]
    out += [f"- `{f['resource']}`: {f['message']}" for f in data["findings"]] or ["- none"]
    if data["interface_endpoints"]:
        out += [
            "",
            "| interface endpoint | service | AZs | $/month | GB/month assumed "
            "| break-even GB/month |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for e in data["interface_endpoints"]:
            if e["break_even_gb"] is not None:
                even = f"{e['break_even_gb']:,.0f}"
            else:
                even = "never" if "never" in e["verdict"] else "n/a (required)"
            out.append(
                f"| `{e['resource']}` | {e['service']} | {e['azs']} | {e['monthly_usd']:,.2f} "
                f"| {e['traffic_gb']:g} | {even} |"
            )
    out += [
        "",
        f"<details><summary>No fixed charge, usage-based only: {len(data['usage_only'])} "
        "resources</summary>",
        "",
    ]
    out += [f"- `{f['resource']}` (`{f['type']}`): {f['reason']}" for f in data["usage_only"]]
    out += [
        "",
        "</details>",
        "",
        f"<details><summary>Free (no AWS charge): {len(data['free'])} resources</summary>",
        "",
    ]
    out += [f"- {n} x `{t}`: {reason}" for t, n, reason in _free_summary(data)]
    out += ["", "</details>"]
    return "\n".join(out) + "\n"


def check_schema(data: dict[str, Any], label: str) -> None:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ReportError(
            f"{label} is not a cost report of this version (expected the JSON that "
            f"`python -m cost <stack> --format json` writes, schema {SCHEMA})"
        )


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Per-resource and total changes in fixed monthly charges between two reports."""
    check_schema(old, "the report to compare to")
    check_schema(new, "the new report")
    before = {line["resource"]: line for line in old["lines"]}
    after = {line["resource"]: line for line in new["lines"]}
    rows = []
    for name in sorted(set(before) | set(after)):
        a = before[name]["monthly_usd"] if name in before else None
        b = after[name]["monthly_usd"] if name in after else None
        if a == b:
            continue
        what = (after.get(name) or before[name])["what"]
        rows.append(
            {
                "resource": name,
                "what": what,
                "before_usd": a,
                "after_usd": b,
                "change_usd": round((b or 0) - (a or 0), 2),
            }
        )
    old_unpriced = {(u["resource"], u["reason"]) for u in old["unpriced"]}
    new_unpriced = {(u["resource"], u["reason"]) for u in new["unpriced"]}
    return {
        "before_total_usd": old["total_monthly_usd"],
        "after_total_usd": new["total_monthly_usd"],
        "change_usd": round(new["total_monthly_usd"] - old["total_monthly_usd"], 2),
        "rows": rows,
        "unpriced_added": sorted(new_unpriced - old_unpriced),
        "unpriced_removed": sorted(old_unpriced - new_unpriced),
    }


def _signed(value: float) -> str:
    return f"{'+' if value > 0 else '−' if value < 0 else '±'}${abs(value):,.2f}"


def render_diff_markdown(old: dict[str, Any], new: dict[str, Any]) -> str:
    d = diff(old, new)
    out = [
        f"**Change from the base branch: {_signed(d['change_usd'])} per month** "
        f"({_money(d['before_total_usd'])} → {_money(d['after_total_usd'])})",
        "",
    ]
    if d["rows"]:
        out += [
            "| resource | what | base $/month | this change $/month | change |",
            "|---|---|---:|---:|---:|",
        ]
        for row in d["rows"]:
            a = "—" if row["before_usd"] is None else f"{row['before_usd']:,.2f}"
            b = "—" if row["after_usd"] is None else f"{row['after_usd']:,.2f}"
            change = _signed(row["change_usd"])
            out.append(f"| `{row['resource']}` | {row['what']} | {a} | {b} | {change} |")
    else:
        out.append("No fixed charge changes.")
    for label, items in (
        ("Newly unpriced", d["unpriced_added"]),
        ("No longer unpriced", d["unpriced_removed"]),
    ):
        if items:
            out += ["", f"{label}:"] + [f"- `{r}`: {reason}" for r, reason in items]
    return "\n".join(out)


def render_diff_text(old: dict[str, Any], new: dict[str, Any]) -> str:
    d = diff(old, new)
    out = [
        f"Change from the compared report: {_signed(d['change_usd'])} per month "
        f"({_money(d['before_total_usd'])} -> {_money(d['after_total_usd'])})"
    ]
    for row in d["rows"]:
        a = "-" if row["before_usd"] is None else f"{row['before_usd']:,.2f}"
        b = "-" if row["after_usd"] is None else f"{row['after_usd']:,.2f}"
        out.append(f"  {row['resource']}: {a} -> {b} ({_signed(row['change_usd'])})")
    for label, items in (
        ("newly unpriced", d["unpriced_added"]),
        ("no longer unpriced", d["unpriced_removed"]),
    ):
        out += [f"  {label}: {r}: {reason}" for r, reason in items]
    return "\n".join(out) + "\n"


__all__ = [
    "SCHEMA",
    "USAGE_CATALOG",
    "ReportError",
    "build_report",
    "check_schema",
    "diff",
    "render_diff_markdown",
    "render_diff_text",
    "render_markdown",
    "render_text",
    "to_dict",
]
