# Run by `bin/shop eval "Shop.Release.seed()"` (or `mix run priv/repo/seeds.exs` locally).
# Idempotent: it only adds the welcome message when the table is empty.
import Ecto.Query

if Shop.Repo.one(from m in Shop.Messages.Message, select: count()) == 0 do
  Shop.Repo.insert!(%Shop.Messages.Message{body: "Welcome to the shop.", slot: "seed"})
end
