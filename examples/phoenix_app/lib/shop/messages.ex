defmodule Shop.Messages do
  @moduledoc "The lobby's messages: the one place the app reads and writes its database."
  import Ecto.Query
  alias Shop.Messages.Message
  alias Shop.Repo

  @doc "The newest `limit` messages, oldest first."
  def recent(limit \\ 20) do
    Message
    |> order_by(desc: :inserted_at, desc: :id)
    |> limit(^limit)
    |> Repo.all()
    |> Enum.reverse()
  end

  @doc "Stores a message posted on this node's slot."
  def post(body) do
    slot = Application.get_env(:shop, :release, [])[:slot]

    %Message{}
    |> Message.changeset(%{body: body, slot: slot})
    |> Repo.insert()
  end
end
