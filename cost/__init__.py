"""Cost before deploy: price every resource a stack would create, from the recorded mock run.

`python -m cost <stack>` runs the real stack program under the same Pulumi mocks the tests use
(`offline.mocks`), prices each registered resource from the table in `cost/prices.yaml`
(us-east-1 on-demand list prices, each with its source and date) and prints the fixed monthly
charges, the usage-based charges left out, what it cannot price and the defaults that waste money.
"""
