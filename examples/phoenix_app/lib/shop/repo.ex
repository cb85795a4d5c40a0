defmodule Shop.Repo do
  @moduledoc """
  The app's PostgreSQL repository. In production config/runtime.exs gives it TLS to RDS and
  either an IAM token per connection (the service task, see `Shop.Repo.IamAuth`) or the master
  password (the one-off migration task).
  """
  use Ecto.Repo, otp_app: :shop, adapter: Ecto.Adapters.Postgres
end
