"""Support for the checks of examples/phoenix_app that run the real Elixir/Erlang toolchain."""
