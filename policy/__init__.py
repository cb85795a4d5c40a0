"""The phoenix-aws guardrails: a Pulumi CrossGuard policy pack (see README, "Guardrails")."""
