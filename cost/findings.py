"""Findings of a priced run: interface endpoints against the NAT data processing they save (with
the break-even), and x86 tasks that would cost less on ARM64."""

from __future__ import annotations

from offline.mocks import Resource

from .context import Context
from .model import EndpointEconomics, Finding


def _endpoint_service(r: Resource) -> str:
    name = str(r.get("serviceName") or "")
    parts = name.split(".")
    # com.amazonaws.<region>.<service...>
    return ".".join(parts[3:]) if len(parts) > 3 else name


def endpoint_findings(ctx: Context) -> None:
    """Interface endpoints against the NAT data processing they save, with the break-even."""
    report = ctx.report
    run = ctx.run
    has_gateway = bool(run.of_type("aws:ec2/natGateway:NatGateway"))
    has_instance = any(
        route.get("networkInterfaceId") and route.get("destinationCidrBlock") == "0.0.0.0/0"
        for route in run.of_type("aws:ec2/route:Route")
    )
    nat_gb = ctx.table.usd("vpc.nat_gateway.gb")
    endpoint_gb = ctx.table.usd("privatelink.interface_endpoint.gb")
    for r in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
        if (r.get("vpcEndpointType") or "Gateway") != "Interface":
            continue
        line = next((x for x in report.lines if x.resource == r.name), None)
        if line is None or not line.charges:
            continue
        service = _endpoint_service(r)
        traffic = report.traffic_overrides.get(service, report.default_traffic_gb)
        azs = len(r.get("subnetIds") or [])
        monthly = line.monthly
        saved: float | None = None
        break_even: float | None = None
        if has_gateway and nat_gb is not None and endpoint_gb is not None:
            saved = nat_gb - endpoint_gb
            break_even = monthly / saved if saved > 0 else None
            saving = traffic * saved
            if saving < monthly:
                verdict = (
                    f"costs ${monthly:.2f}/month and saves ${saving:.2f} of NAT processing at "
                    f"{traffic:g} GB/month; pays off above {break_even:,.0f} GB/month"
                )
                report.findings.append(
                    Finding(
                        r.name, verdict, monthly_waste=monthly - saving, break_even_gb=break_even
                    )
                )
            else:
                verdict = (
                    f"pays off: {traffic:g} GB/month is above the {break_even:,.0f} GB break-even"
                )
        elif has_instance:
            verdict = (
                f"costs ${monthly:.2f}/month and saves nothing per GB: a NAT instance has no "
                "data-processing charge (break-even: never)"
            )
            report.findings.append(Finding(r.name, verdict, monthly_waste=monthly))
        else:
            verdict = "required: without NAT it is the only way to reach the service"
        report.endpoints.append(
            EndpointEconomics(r.name, service, azs, monthly, traffic, saved, break_even, verdict)
        )


def architecture_findings(ctx: Context) -> None:
    """x86 Fargate tasks where the same shape on ARM64 costs less."""
    for line in ctx.report.lines:
        x86 = [c for c in line.charges if c.price_key.startswith("fargate.linux.x86_64.")]
        if not x86:
            continue
        arm_total = 0.0
        for c in x86:
            arm = ctx.table.usd(c.price_key.replace("x86_64", "arm64"))
            if arm is None:
                break
            arm_total += c.quantity * arm
        else:
            x86_total = sum(c.monthly for c in x86)
            if x86_total > arm_total:
                ctx.report.findings.append(
                    Finding(
                        line.resource,
                        f"X86_64 tasks cost ${x86_total:.2f}/month; the same tasks on ARM64 cost "
                        f"${arm_total:.2f} (app.cpu_architecture: ARM64, with an arm64 image)",
                        monthly_waste=x86_total - arm_total,
                    )
                )
