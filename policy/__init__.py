"""The phoenix-aws guardrails: a Pulumi CrossGuard policy pack (see docs/guardrails.md)."""
