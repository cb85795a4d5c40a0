defmodule Shop.Messages.Message do
  @moduledoc "A message posted in the lobby, with the slot that stored it."
  use Ecto.Schema
  import Ecto.Changeset

  schema "messages" do
    field :body, :string
    field :slot, :string
    timestamps(type: :utc_datetime)
  end

  @doc false
  def changeset(message, attrs) do
    message
    |> cast(attrs, [:body, :slot])
    |> validate_required([:body, :slot])
    |> validate_length(:body, max: 500)
  end
end
