# The tests in test/ cover the modules that need nothing but Elixir (the environment reader,
# the drain, the metric line, the IAM callback, the role SQL), so they run without a database:
# `mix test` here, and phoenix-aws's own suite runs the same files with Debian's Elixir.
ExUnit.start()
