"""Reusable Pulumi component resources for running Elixir/Phoenix applications on AWS.

Each module holds one concern and never reads stack config, so another repository can import
these classes directly (see the README, "Reusing the components").
"""
