"""Run this project's Pulumi program offline, under Pulumi's mocks, and record what it registers.

Used by the test suite, the cost report (`python -m cost`) and the policy checks: the same
recorded graph of resources, inputs, options and dependencies that a `pulumi up` would send.
"""
