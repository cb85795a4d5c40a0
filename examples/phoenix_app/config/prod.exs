import Config

# Logs go to stdout; awslogs ships them to CloudWatch. Everything that differs between stacks
# is read at boot in config/runtime.exs.
config :logger, level: :info
